"""What the desk's processes share: one process by default, Redis with DESK_BUS_URL.

A desk can run as several processes behind a load balancer; they behave as one desk when they
share the database (DESK_DATABASE_URL) and, through Redis (DESK_BUS_URL), three things that
otherwise live in the process:

- the event bus (`desk.redis_bus`): the subscribers that must run in every process (each
  process's consoles) hear the events of the others;
- what each waiting customer was told of their place (`desk.told_places`);
- which agents have a console open (`desk.presence`).

`shared_state(settings, hub)` builds the three for one process; `start` and `stop` belong to
the application's start-up and shutdown. The desk processes sharing one DESK_BUS_PREFIX in one
Redis are one desk.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from desk.bus import InProcessBus
from desk.console_hub import LiveHub
from desk.presence import LocalPresence, RedisPresence
from desk.redis_bus import RedisBus, process_id
from desk.redis_link import connect, unavailable, where
from desk.settings import DeskSettings
from desk.told_places import InMemoryToldPlaces, RedisToldPlaces, ToldPlaces

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class SharedState:
    """The bus, the told places and the presence of one desk process."""

    bus: InProcessBus
    told: ToldPlaces
    presence: LocalPresence | RedisPresence
    #: The Redis client, when the processes share Redis (closed by `stop`).
    redis: Redis | None = None
    url: str = ""

    async def start(self) -> None:
        """Check Redis (a warning if it is down: the desk starts all the same and catches up
        when it is back), then start the listener and the presence heartbeat."""
        if self.redis is not None:
            try:
                await self.redis.ping()
            except (RedisError, OSError) as error:
                LOGGER.warning(
                    "%s; this desk process works alone until it is back "
                    "(its events reach only its own consoles)",
                    unavailable(self.url, error),
                )
            else:
                LOGGER.info("desk processes share through Redis at %s", where(self.url))
        await self.bus.start()
        await self.presence.start()

    async def stop(self) -> None:
        """Stop sharing (this process's consoles are taken off the presence at once)."""
        await self.presence.stop()
        await self.bus.stop()
        if self.redis is not None:
            await self.redis.close(close_connection_pool=True)


def shared_state(settings: DeskSettings, hub: LiveHub) -> SharedState:
    """In-process parts without DESK_BUS_URL; Redis-backed ones with it."""
    if not settings.bus_url:
        return SharedState(InProcessBus(), InMemoryToldPlaces(), LocalPresence(hub))
    url, prefix, process = settings.bus_url, settings.bus_prefix, process_id()
    redis = connect(url)
    return SharedState(
        RedisBus(redis, url=url, prefix=prefix, origin=process),
        RedisToldPlaces(redis, url=url, prefix=prefix),
        RedisPresence(redis, hub, url=url, prefix=prefix, process=process),
        redis,
        url,
    )
