"""How the desk's Redis parts speak of trouble (`desk.redis_link`)."""

from __future__ import annotations

import logging

import pytest

from desk.redis_link import ThrottledWarning, unavailable, where

LOGGER = logging.getLogger("tests.redis_link")


def test_a_url_is_shown_without_its_password() -> None:
    assert where("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert where("redis://:s3cret@10.0.0.5:6380/2") == "redis://:***@10.0.0.5:6380/2"
    assert where("rediss://desk:s3cret@cache.example/0") == "rediss://desk:***@cache.example/0"
    error = unavailable("redis://:s3cret@10.0.0.5:6380/2", ConnectionRefusedError("refused"))
    assert str(error) == "Redis at redis://:***@10.0.0.5:6380/2 is not reachable: refused"


def test_trouble_is_one_warning_now_then_one_now_and_then_with_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    trouble = ThrottledWarning(LOGGER, every=30.0, clock=lambda: now[0])

    with caplog.at_level(logging.INFO, logger="tests.redis_link"):
        assert trouble.warn("down: %s", "first")
        for _ in range(4):
            now[0] += 1.0
            assert not trouble.warn("down: %s", "again")
        now[0] += 30.0
        assert trouble.warn("down: %s", "still")
        trouble.recovered("back")
        trouble.recovered("back")  # said once
        assert trouble.warn("down: %s", "anew")  # at once: a new outage

    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "down: first"),
        ("WARNING", "down: still (4 more times since the last warning)"),
        ("INFO", "back"),
        ("WARNING", "down: anew"),
    ]
    assert trouble.failing
