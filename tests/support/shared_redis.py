"""A Redis for the tests of the desk's cross-process parts, with a key prefix of their own.

The tests use the server at `TEST_REDIS_URL` (default redis://127.0.0.1:6379/0). Each gets a
fresh prefix (`RedisSpace.prefix`) for its keys and channels, and every key under it is
deleted afterwards, so tests running side by side (and other users of the server) never see
each other. Without a reachable server the test is skipped, or fails when REQUIRE_REDIS=1 (as
CI sets it where Redis runs).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
from redis.asyncio import Redis
from redis.exceptions import RedisError

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class RedisSpace:
    """Where a test's keys live: the server's URL and the test's prefix."""

    url: str
    prefix: str

    def client(self, **options: object) -> Redis:
        """A new client of the server (answering text)."""
        client: Redis = Redis.from_url(self.url, decode_responses=True, **options)
        return client


def redis_url_under_test() -> str:
    """The test server's URL."""
    return os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS_URL)


@pytest.fixture
def redis_space() -> Iterator[RedisSpace]:
    """A fresh prefix on the test Redis; its keys are deleted afterwards (a plain fixture, so
    end-to-end tests that start processes can use it as well as async tests)."""
    url = redis_url_under_test()
    admin = redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=3)
    try:
        admin.ping()
    except (RedisError, OSError) as error:
        admin.close()
        message = f"Redis is not reachable at {url}: {error}"
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"REQUIRE_REDIS=1 but {message}", pytrace=False)
        pytest.skip(f"{message} (set REQUIRE_REDIS=1 to make this a failure)")
    space = RedisSpace(url, f"test-desk-{uuid.uuid4().hex[:12]}")
    try:
        yield space
    finally:
        keys = list(admin.scan_iter(match=f"{space.prefix}:*"))
        if keys:
            admin.delete(*keys)
        admin.close()
