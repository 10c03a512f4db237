"""What each waiting customer was last told of their place in the queue, for every desk process.

The waiting room (`desk.waiting_room`) tells a customer their place whenever it changed, and
never the same place twice. With several desk processes, each reacts to the queue moves it
published, so what was told is kept where all of them see it, and telling is one process at a
time (`telling`): a process that read the queue before another's change must not tell an older
place after the newer one.

`ToldPlaces` is that memory: per queue, handoff id -> position told. `InMemoryToldPlaces` is the
default (one desk process); `RedisToldPlaces` keeps a Redis hash per queue
(`<DESK_BUS_PREFIX>:told:<queue>`), remembers with a compare-and-set (a small Lua script: set
only if the place is still the one read) and serialises telling with a Redis lock
(`<prefix>:told:lock`, which expires if its holder dies). Redis down: `RedisUnavailable`, which
the waiting room logs; places are told again at the next move once Redis is back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Final, Protocol

from redis.asyncio import Redis
from redis.exceptions import LockError, RedisError

from desk.redis_link import unavailable

#: A holder of the telling lock that died frees it after this long.
LOCK_SECONDS: Final = 60.0
#: How long a process waits for another to finish telling (a round of Rasa calls).
LOCK_WAIT_SECONDS: Final = 30.0

#: Set the told position only if it is still the one read ("" = none).
_COMPARE_AND_SET: Final = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (current == false and ARGV[2] == '') or current == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0
"""


class ToldPlaces(Protocol):
    """What each waiting customer was last told, per queue; telling one at a time."""

    def telling(self) -> AbstractAsyncContextManager[None]:
        """Hold while reading the queues and telling: no other teller (in any process) meanwhile.

        Raises:
            RedisUnavailable: (Redis) the lock could not be taken.
        """
        ...

    async def recall(self, queue: str) -> dict[str, int]:
        """Handoff id -> the position told, for the customers of `queue`."""
        ...

    async def remember(
        self, queue: str, handoff_id: str, position: int, *, previous: int | None
    ) -> bool:
        """Remember `position` as told, if what is remembered is still `previous` (what was
        read); whether it was."""
        ...

    async def forget(self, queue: str, handoff_ids: Collection[str]) -> None:
        """Forget the customers who left `queue`."""
        ...


class InMemoryToldPlaces:
    """`ToldPlaces` of one desk process."""

    def __init__(self) -> None:
        """Nothing told yet."""
        self._told: dict[str, dict[str, int]] = {}
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def telling(self) -> AsyncIterator[None]:
        """One teller at a time in this process."""
        async with self._lock:
            yield

    async def recall(self, queue: str) -> dict[str, int]:
        """Handoff id -> position told."""
        return dict(self._told.get(queue, {}))

    async def remember(
        self, queue: str, handoff_id: str, position: int, *, previous: int | None
    ) -> bool:
        """Compare and set."""
        told = self._told.setdefault(queue, {})
        if told.get(handoff_id) != previous:
            return False
        told[handoff_id] = position
        return True

    async def forget(self, queue: str, handoff_ids: Collection[str]) -> None:
        """Drop them."""
        told = self._told.get(queue, {})
        for handoff_id in handoff_ids:
            told.pop(handoff_id, None)


class RedisToldPlaces:
    """`ToldPlaces` shared by the desk processes through Redis (see the module doc)."""

    def __init__(self, redis: Redis, *, url: str, prefix: str) -> None:
        """Keep the places in `redis` (at `url`, for messages) under `<prefix>:told:`."""
        self.redis = redis
        self.url = url
        self.prefix = f"{prefix}:told"
        self._compare_and_set = redis.register_script(_COMPARE_AND_SET)

    def _key(self, queue: str) -> str:
        return f"{self.prefix}:{queue}"

    @asynccontextmanager
    async def telling(self) -> AsyncIterator[None]:
        """The Redis lock `<prefix>:told:lock` (expires after LOCK_SECONDS if never freed)."""
        lock = self.redis.lock(
            f"{self.prefix}:lock",
            timeout=LOCK_SECONDS,
            blocking_timeout=LOCK_WAIT_SECONDS,
            thread_local=False,
        )
        try:
            acquired = await lock.acquire()
        except (RedisError, OSError) as error:
            raise unavailable(self.url, error) from error
        if not acquired:
            raise unavailable(
                self.url, TimeoutError(f"another desk process held the lock {LOCK_WAIT_SECONDS}s")
            )
        try:
            yield
        finally:
            try:
                await lock.release()
            except LockError:
                pass  # it expired while held: another teller may be at work already
            except (RedisError, OSError):
                pass  # Redis went away: the lock expires by itself

    async def recall(self, queue: str) -> dict[str, int]:
        """HGETALL of the queue's hash."""
        try:
            told = await self.redis.hgetall(self._key(queue))
        except (RedisError, OSError) as error:
            raise unavailable(self.url, error) from error
        return {handoff_id: int(position) for handoff_id, position in told.items()}

    async def remember(
        self, queue: str, handoff_id: str, position: int, *, previous: int | None
    ) -> bool:
        """The compare-and-set script."""
        expected = "" if previous is None else str(previous)
        try:
            done = await self._compare_and_set(
                keys=[self._key(queue)], args=[handoff_id, expected, str(position)]
            )
        except (RedisError, OSError) as error:
            raise unavailable(self.url, error) from error
        return bool(done)

    async def forget(self, queue: str, handoff_ids: Collection[str]) -> None:
        """HDEL."""
        if not handoff_ids:
            return
        try:
            await self.redis.hdel(self._key(queue), *handoff_ids)
        except (RedisError, OSError) as error:
            raise unavailable(self.url, error) from error
