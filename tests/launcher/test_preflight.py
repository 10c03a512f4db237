"""The scaled system's checks of its services: a missing one is named with how to start it."""

from __future__ import annotations

import os

from harness.loopback import free_ports
from launcher.preflight import check_postgres, check_rabbitmq, check_redis, missing_services

POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def test_services_that_answer_pass() -> None:
    assert missing_services(POSTGRES, REDIS, RABBITMQ) == []


def test_each_service_that_does_not_answer_is_named_with_how_to_start_it() -> None:
    port = free_ports(1)[0]  # nothing listens there

    problems = missing_services(
        f"postgresql://postgres@127.0.0.1:{port}/postgres",
        f"redis://127.0.0.1:{port}/0",
        f"amqp://guest:s3cret@127.0.0.1:{port}/%2F",
    )

    assert len(problems) == 3
    postgres, redis, rabbitmq = problems
    assert postgres.startswith(f"PostgreSQL at postgresql://postgres@127.0.0.1:{port}/postgres")
    assert "service postgresql start" in postgres and "SCALED_POSTGRES_URL" in postgres
    assert redis.startswith(f"Redis at redis://127.0.0.1:{port}/0 is not reachable")
    assert "service redis-server start" in redis
    assert rabbitmq.startswith(f"RabbitMQ at amqp://guest:***@127.0.0.1:{port}/%2F is not")
    assert "s3cret" not in rabbitmq


def test_wrong_credentials_are_reported_too() -> None:
    problem = check_rabbitmq("amqp://guest:not-the-password@127.0.0.1:5672/%2F")
    assert problem is not None and problem.startswith("RabbitMQ at amqp://guest:***@")
    assert check_postgres(POSTGRES) is None
    assert check_redis(REDIS) is None
