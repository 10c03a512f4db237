"""Login throttling: lockouts per username, a limit per address, on the real database."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from desk.services import agents
from desk.services.agents import Actor, LoginAttempt, StartedSession
from desk.services.login_throttle import (
    TOO_MANY_ATTEMPTS,
    LoginLimits,
    TooManyAttempts,
    is_locked,
    mask_address,
    mask_username,
)
from desk.store.database import Database
from desk.store.models import LoginFailure
from tests.desk.conftest import PASSWORD, at

LIMITS = LoginLimits(
    account_failures=5,
    address_failures=20,
    window=timedelta(minutes=15),
    lockout=timedelta(minutes=15),
)
LIFETIME = timedelta(hours=12)
HERE = "203.0.113.57"


def attempt(
    database: Database,
    seconds: float,
    *,
    username: str = "olivia",
    password: str = "wrong password",
    address: str = HERE,
) -> StartedSession | None:
    """One login at T0 + seconds, in its own committed unit of work, as the route runs it."""
    with database.session(write=True) as session:
        return agents.log_in(
            session,
            LoginAttempt(username, password, address),
            limits=LIMITS,
            lifetime=LIFETIME,
            now=at(seconds),
        )


def locked(database: Database, seconds: float, username: str = "olivia") -> bool:
    with database.session() as session:
        return is_locked(session, username, LIMITS, now=at(seconds))


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(
    database: Database, actors: dict[str, Actor]
) -> None:
    for second in range(4):
        assert attempt(database, second) is None
    assert not locked(database, 4)

    assert attempt(database, 4) is None  # the fifth within 15 minutes

    assert locked(database, 5)
    assert attempt(database, 60, password=PASSWORD) is None  # the right password, refused
    assert attempt(database, 4 + 15 * 60 - 1, password=PASSWORD) is None
    started = attempt(database, 4 + 15 * 60 + 1, password=PASSWORD)  # the lockout is over
    assert started is not None
    assert started.actor.username == "olivia"


def test_failures_while_locked_do_not_prolong_the_lockout(
    database: Database, actors: dict[str, Actor]
) -> None:
    for second in range(5):
        attempt(database, second)
    for second in range(100, 900, 100):
        attempt(database, second)  # someone keeps guessing during the lockout

    assert attempt(database, 4 + 15 * 60 + 1, password=PASSWORD) is not None


def test_after_a_lockout_the_count_starts_again(
    database: Database, actors: dict[str, Actor]
) -> None:
    for second in range(5):
        attempt(database, second)
    after = 4 + 15 * 60 + 1  # the lockout is over, its failures still in a 15-minute window

    assert attempt(database, after) is None
    assert not locked(database, after + 1)  # one failure, not six


def test_failures_older_than_the_window_do_not_count(
    database: Database, actors: dict[str, Actor]
) -> None:
    for second in range(4):
        attempt(database, second)

    attempt(database, 15 * 60 + 10)  # the fifth, but the first ones are over 15 minutes old

    assert not locked(database, 15 * 60 + 11)


def test_a_successful_login_clears_the_failures(
    database: Database, actors: dict[str, Actor]
) -> None:
    for second in range(4):
        attempt(database, second)
    assert attempt(database, 10, password=PASSWORD) is not None

    for second in range(20, 24):
        attempt(database, second)

    assert not locked(database, 30)
    assert attempt(database, 31, password=PASSWORD) is not None


def test_unknown_usernames_are_locked_alike(database: Database, actors: dict[str, Actor]) -> None:
    for second in range(5):
        attempt(database, second, username="nobody")

    assert locked(database, 6, "nobody")
    assert not locked(database, 6, "olivia")


def test_a_locked_account_still_checks_the_password(
    database: Database, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The password is checked (scrypt's time spent) whether or not the account is locked."""
    for second in range(5):
        attempt(database, second)
    checked: list[str] = []
    real_verify = agents.verify_password

    def verify(password: str, stored: str) -> bool:
        checked.append(password)
        return real_verify(password, stored)

    monkeypatch.setattr(agents, "verify_password", verify)

    assert attempt(database, 10, password=PASSWORD) is None

    assert checked == [PASSWORD]


def test_an_address_with_too_many_failures_gets_told_when_to_come_back(
    database: Database, actors: dict[str, Actor]
) -> None:
    # 20 failures for 20 usernames (no lockout), the first at T0 + 0, one per 10 seconds.
    for n in range(20):
        attempt(database, n * 10, username=f"guess{n}")

    with pytest.raises(TooManyAttempts) as refused:
        attempt(database, 300, password=PASSWORD)  # even the right password

    assert refused.value.message == TOO_MANY_ATTEMPTS
    assert refused.value.retry_after == 15 * 60 - 300  # when the first leaves the window
    assert attempt(database, 300, password=PASSWORD, address="198.51.100.7") is not None
    assert attempt(database, 15 * 60 + 1, password=PASSWORD) is not None


def test_a_successful_login_does_not_clear_the_address(
    database: Database, actors: dict[str, Actor]
) -> None:
    for n in range(19):
        attempt(database, n, username=f"guess{n}")
    assert attempt(database, 30, password=PASSWORD) is not None
    attempt(database, 31, username="guess-again")

    with pytest.raises(TooManyAttempts):
        attempt(database, 32, username="leo", password=PASSWORD)


def test_desks_sharing_the_database_count_together(
    database: Database, database_url: str, actors: dict[str, Actor]
) -> None:
    other_desk = Database(database_url)  # a second desk process's engine and pool
    try:
        for second in range(3):
            attempt(database, second)
        for second in range(3, 5):
            attempt(other_desk, second)

        assert locked(database, 6)
        assert attempt(other_desk, 7, password=PASSWORD) is None
    finally:
        other_desk.dispose()


def test_the_lockout_is_logged_with_the_username_masked(
    database: Database, actors: dict[str, Actor], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="desk.services.login_throttle")
    for second in range(4):
        attempt(database, second)
    assert caplog.records == []

    attempt(database, 4)

    (record,) = caplog.records
    message = record.getMessage()
    assert mask_username("olivia") in message
    assert "olivia" not in message and HERE not in message
    assert "203.0.113.0/24" in message
    assert "locked for 15 min" in message


def test_an_address_reaching_its_limit_is_logged_once_masked(
    database: Database, actors: dict[str, Actor], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="desk.services.login_throttle")
    for n in range(19):
        attempt(database, n, username=f"guess{n}")
    assert caplog.records == []

    attempt(database, 19, username="guess19")
    with pytest.raises(TooManyAttempts):
        attempt(database, 20, username="guess20")  # refused: neither counted nor logged

    (record,) = caplog.records
    message = record.getMessage()
    assert message == "logins from 203.0.113.0/24 refused for up to 15 min: 20 failed in 15 min"


def test_old_rows_are_deleted_as_new_ones_come(
    database: Database, actors: dict[str, Actor]
) -> None:
    for n in range(10):
        attempt(database, n, username=f"guess{n}")

    attempt(database, 3600, username="late")

    with database.session() as session:
        kept = set(session.scalars(select(LoginFailure.failed_at)))
    assert kept == {at(3600)}


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("203.0.113.57", "203.0.113.0/24"),
        ("2001:db8:85a3:1::8a2e", "2001:db8:85a3::/48"),
        ("unknown", "an unknown address"),
    ],
)
def test_addresses_are_masked_to_their_network(address: str, masked: str) -> None:
    assert mask_address(address) == masked


def test_usernames_are_masked_but_told_apart() -> None:
    assert mask_username("olivia").startswith("o***#")
    assert mask_username("olivia") != mask_username("oscar")
    assert "livia" not in mask_username("olivia")
