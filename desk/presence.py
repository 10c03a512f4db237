"""Which agents have a console open, on any desk process.

The waiting room offers "nobody of the queue is online" (`desk.services.waiting.online_queues`),
a new handoff's `queued` entry counts the agents of its queue online, and the supervisors' live
strip shows how many agents are online. With several desk processes an agent whose console is
connected to another process is online too, so these ask `Presence`, not the process's own
`LiveHub`.

`LocalPresence` (one desk process) is the hub's connected agents. `RedisPresence` also keeps
this process's connected agents in Redis, as `<DESK_BUS_PREFIX>:presence:<process>` (a JSON
list) with a time to live of `ttl_seconds`, written again every third of it and at once when a
console connects or goes (coalesced), and lists the processes in
`<prefix>:presence:processes`. A process that stops deletes its entry; one that crashed drops
out when its entry expires. Reading unites every live entry with this process's own consoles;
with Redis down it falls back to those (logged).
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import suppress
from typing import Final, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from desk.console_hub import LiveHub
from desk.redis_link import ThrottledWarning, unavailable, where

LOGGER = logging.getLogger(__name__)

#: A crashed process's consoles count as online for at most this long.
PRESENCE_TTL_SECONDS: Final = 15.0

#: The agents of every process whose entry is alive; the dead ones are taken off the list.
_READ_ALL: Final = """
local agents = {}
for _, process in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local entry = redis.call('GET', ARGV[1] .. process)
  if entry then
    table.insert(agents, entry)
  else
    redis.call('SREM', KEYS[1], process)
  end
end
return agents
"""


class Presence(Protocol):
    """Who is online at the desk, whichever process their console is connected to."""

    async def agent_ids(self) -> set[int]:
        """The agents with a console connected to any desk process."""
        ...


class LocalPresence:
    """`Presence` of a desk that is one process: the hub's connected agents."""

    def __init__(self, hub: LiveHub) -> None:
        """Ask `hub`."""
        self.hub = hub

    async def agent_ids(self) -> set[int]:
        """The hub's connected agents."""
        return self.hub.agent_ids()

    async def start(self) -> None:
        """Nothing to start."""

    async def stop(self) -> None:
        """Nothing to stop."""


class RedisPresence:
    """`Presence` shared by the desk processes through Redis (see the module doc)."""

    def __init__(
        self,
        redis: Redis,
        hub: LiveHub,
        *,
        url: str,
        prefix: str,
        process: str,
        ttl_seconds: float = PRESENCE_TTL_SECONDS,
    ) -> None:
        """Publish `hub`'s connected agents as `process` under `<prefix>:presence:` in `redis`
        (at `url`, for messages)."""
        self.redis = redis
        self.hub = hub
        self.url = url
        self.process = process
        self.ttl_seconds = ttl_seconds
        self._entry_prefix = f"{prefix}:presence:"
        self._processes = f"{prefix}:presence:processes"
        self._read_all = redis.register_script(_READ_ALL)
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._write_trouble = ThrottledWarning(LOGGER)
        self._read_trouble = ThrottledWarning(LOGGER)
        hub.watch(self._changed.set)

    @property
    def _entry(self) -> str:
        return self._entry_prefix + self.process

    async def agent_ids(self) -> set[int]:
        """Every live process's connected agents, and this one's (Redis down: this one's)."""
        here = self.hub.agent_ids()
        try:
            entries = await self._read_all(keys=[self._processes], args=[self._entry_prefix])
        except (RedisError, OSError) as error:
            self._read_trouble.warn(
                "%s; only the consoles of this desk process count as online",
                unavailable(self.url, error),
            )
            return here
        self._read_trouble.recovered(
            "Redis at %s is reachable again: consoles on every desk process count as online",
            where(self.url),
        )
        for entry in entries:
            here.update(int(agent_id) for agent_id in json.loads(entry))
        return here

    async def start(self) -> None:
        """Write this process's entry now, and keep it alive until `stop`."""
        if self._task is None:
            await self._write()
            self._task = asyncio.get_running_loop().create_task(
                self._keep_alive(), name="desk presence heartbeat"
            )

    async def stop(self) -> None:
        """Stop the heartbeat and take this process's consoles off at once."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        with suppress(RedisError, OSError):
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(self._entry)
                pipe.srem(self._processes, self.process)
                await pipe.execute()

    async def _keep_alive(self) -> None:
        while True:
            # A console connecting or going is written at once; otherwise every third of the TTL.
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), self.ttl_seconds / 3)
            await self._write()

    async def _write(self) -> None:
        self._changed.clear()
        agents = json.dumps(sorted(self.hub.agent_ids()))
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.set(self._entry, agents, px=int(self.ttl_seconds * 1000))
                pipe.sadd(self._processes, self.process)
                await pipe.execute()
        except (RedisError, OSError) as error:
            self._write_trouble.warn(
                "%s; agents on this desk process's consoles do not count as online for the others",
                unavailable(self.url, error),
            )
            return
        self._write_trouble.recovered(
            "Redis at %s is reachable again: this desk process's consoles count as online "
            "everywhere",
            where(self.url),
        )
