"""Rasa's Redis lock store, with each change of a conversation's lock made atomically.

Several Rasa processes hand one conversation's messages to each other through Rasa's ticket
lock (`rasa.core.lock.TicketLock`): each message takes the next ticket and waits until its
number is served. Rasa 3.6's `RedisLockStore` changes a lock by reading it (GET), changing it
in the process and writing it back (SET). Two processes doing that at the same moment both
read the same lock and both write it: they take the *same* ticket number, and both messages
are handled at once (on this machine two processes issuing 300 tickets each for one
conversation got 360 distinct numbers out of 600). Clean-up has the same gap: a process
deleting a lock nobody seemed to wait for erases the ticket another process had just taken.

`AtomicRedisLockStore` makes each of those read-change-write steps one optimistic Redis
transaction (WATCH the lock's key, read, MULTI/SET or DEL, EXEC; again if another process
changed the key in between). The lock's format, keys and waiting loop stay Rasa's.

endpoints.yml (Rasa builds a lock store named by module path with the endpoint's settings)::

    lock_store:
      type: assistant.lock_store.AtomicRedisLockStore
      url: ${LOCK_STORE_HOST}     # plus port, db, password, key_prefix as for `type: redis`
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Final, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from redis.exceptions import WatchError

T = TypeVar("T")
#: Tries of one change while other processes keep changing the same lock. Each retry means
#: another process's change went through, so the conversation as a whole always moves on; a
#: short random pause before each retry keeps one process from losing the race every time
#: (seen in a test: three processes taking 300 tickets at once, one lost 100 times in a row).
MAX_ATTEMPTS: Final = 1000
#: The longest pause before a retry, in seconds (Redis round trips here take about 0.1 ms).
MAX_RETRY_PAUSE_SECONDS: Final = 0.002
#: A change's outcome for the lock: keep it as it was (nothing to write), or delete it.
UNCHANGED: Final = "unchanged"
DELETED: Final = "deleted"

Change = Callable[[TicketLock | None], tuple[TicketLock | str, T]]


class AtomicRedisLockStore(RedisLockStore):
    """Rasa's `RedisLockStore` whose ticket changes are Redis transactions (module doc)."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        """The settings of `type: redis`: `url` is the host, the other keys as Rasa's."""
        super().__init__(host=endpoint_config.url or "localhost", **endpoint_config.kwargs)

    def _change(self, conversation_id: str, change: Change[T]) -> T:
        """Applies `change` to the conversation's lock in one transaction; returns its result."""
        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            for _ in range(MAX_ATTEMPTS):
                try:
                    pipe.watch(key)
                    stored = pipe.get(key)
                    lock = TicketLock.from_dict(json.loads(stored)) if stored else None
                    outcome, result = change(lock)
                    pipe.multi()
                    if outcome == DELETED:
                        pipe.delete(key)
                    elif isinstance(outcome, TicketLock):
                        pipe.set(key, outcome.dumps())
                    pipe.execute()
                    return result
                except WatchError:
                    # Another process changed the lock first: read it again, after a pause as
                    # short as Rasa's own blocking Redis calls, so the racers fall out of step.
                    time.sleep(random.uniform(0, MAX_RETRY_PAUSE_SECONDS))
                    continue
                finally:
                    pipe.reset()
        raise LockError(
            f"The lock of a conversation changed {MAX_ATTEMPTS} times while this process "
            f"tried to change it."
        )

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """The next ticket of the conversation's lock (created if there is none)."""

        def take(lock: TicketLock | None) -> tuple[TicketLock, int]:
            lock = lock or TicketLock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, take)
        except Exception as error:  # as Rasa's: any failure to take a ticket is a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: str) -> None:
        """Drops the lock's expired tickets."""

        def expire(lock: TicketLock | None) -> tuple[TicketLock | str, None]:
            if lock is None:
                return UNCHANGED, None
            lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, expire)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Removes the served ticket."""

        def serve(lock: TicketLock | None) -> tuple[TicketLock | str, None]:
            if lock is None:
                return UNCHANGED, None
            lock.remove_ticket_for(ticket_number)
            return lock, None

        self._change(conversation_id, serve)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Removes the served ticket, and the lock with it when no other ticket waits, in one
        step: a ticket taken meanwhile by another process is never deleted with the lock."""

        def release(lock: TicketLock | None) -> tuple[TicketLock | str, None]:
            if lock is None:
                return UNCHANGED, None
            lock.remove_ticket_for(ticket_number)
            return (lock if lock.is_someone_waiting() else DELETED), None

        self._change(conversation_id, release)
