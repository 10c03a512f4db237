"""Throttling password guessing: a lockout per username, a limit per client address.

- A username with `account_failures` failed logins within `window` is locked for `lockout`.
  A locked username is answered exactly as a wrong password is (the caller still runs the
  password check), so whoever types never learns that it is locked, nor whether the username
  exists: unknown usernames are counted and locked the same way. Failed logins while it is
  locked are not counted, so the lockout ends `lockout` after it began; a successful login
  clears the username's failures.
- An address with `address_failures` failed logins within `window` is refused every login
  (`TooManyAttempts`, 429 with Retry-After) until the oldest of them leaves the window.
  Refused logins are not counted, and a successful login from it clears nothing: one valid
  account does not buy an address more guesses.

The counts live in the desk's database (`LoginFailure`, inserted and deleted, never updated),
so desk processes sharing it count together. Two processes failing the same username at the
same instant may let one guess more through than the limit; never fewer.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from desk.services.errors import DeskError
from desk.settings import DeskSettings
from desk.store.models import LoginFailure, LoginFailureKind

LOGGER = logging.getLogger(__name__)

TOO_MANY_ATTEMPTS: Final = "too many attempts, try again later"


class TooManyAttempts(DeskError):
    """The client's address failed too many logins lately (429).

    Attributes:
        retry_after: Whole seconds until it may try again (at least 1).
    """

    def __init__(self, retry_after: int) -> None:
        """Say when to come back."""
        super().__init__(TOO_MANY_ATTEMPTS)
        self.retry_after = retry_after


@dataclass(frozen=True)
class LoginLimits:
    """How many failed logins are allowed, and for how long they count."""

    account_failures: int = 5
    address_failures: int = 20
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)

    @classmethod
    def of(cls, settings: DeskSettings) -> LoginLimits:
        """The limits configured for the desk (DESK_LOGIN_*)."""
        return cls(
            account_failures=settings.login_account_failures,
            address_failures=settings.login_address_failures,
            window=timedelta(minutes=settings.login_window_minutes),
            lockout=timedelta(minutes=settings.login_lockout_minutes),
        )


def check_address(session: Session, address: str, limits: LoginLimits, *, now: datetime) -> None:
    """Refuse an address that failed too many logins within the window.

    Raises:
        TooManyAttempts: It did; with the seconds until the oldest counted failure leaves it.
    """
    failed = list(
        session.scalars(
            select(LoginFailure.failed_at)
            .where(
                *_of(LoginFailureKind.ADDRESS, address),
                LoginFailure.failed_at > now - limits.window,
            )
            .order_by(LoginFailure.failed_at)
        )
    )
    if len(failed) < limits.address_failures:
        return
    # Allowed again once fewer than the limit are left in the window.
    free_at = failed[len(failed) - limits.address_failures] + limits.window
    raise TooManyAttempts(max(1, int((free_at - now).total_seconds() + 0.999)))


def is_locked(session: Session, username: str, limits: LoginLimits, *, now: datetime) -> bool:
    """Whether a lockout of `username` began within the lockout time."""
    return _last_lockout(session, username, since=now - limits.lockout) is not None


def record_failure(
    session: Session,
    username: str,
    address: str,
    limits: LoginLimits,
    *,
    locked: bool,
    now: datetime,
) -> bool:
    """Count a failed login of `username` from `address` (for the address only when the
    username is `locked`); whether it begins a lockout of the username.

    The failure that begins a lockout, or takes the address to its limit, is logged (the
    username and address masked). Rows too old to count for anything are deleted on the way.
    """
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.failed_at <= now - max(limits.window, limits.lockout)
        )
    )
    session.add(_row(LoginFailureKind.ADDRESS, address, now))
    if not locked:
        session.add(_row(LoginFailureKind.ACCOUNT, username, now))
    session.flush()
    since = now - limits.window
    if _count(session, LoginFailureKind.ADDRESS, address, since) == limits.address_failures:
        LOGGER.warning(
            "logins from %s refused for up to %s min: %d failed in %s min",
            mask_address(address),
            _minutes(limits.window),
            limits.address_failures,
            _minutes(limits.window),
        )
    if locked:
        return False
    # Failures before the last lockout began led to it: they do not count again.
    last_lockout = _last_lockout(session, username, since=since)
    counted = _count(session, LoginFailureKind.ACCOUNT, username, last_lockout or since)
    if counted < limits.account_failures:
        return False
    session.add(_row(LoginFailureKind.LOCKOUT, username, now))
    LOGGER.warning(
        "login locked for %s min: %s failed %d times in %s min (last from %s)",
        _minutes(limits.lockout),
        mask_username(username),
        counted,
        _minutes(limits.window),
        mask_address(address),
    )
    return True


def clear_account(session: Session, username: str) -> None:
    """Forget the failures (and any past lockout) of `username`: it logged in."""
    subject = _subject(LoginFailureKind.ACCOUNT, username)
    session.execute(delete(LoginFailure).where(LoginFailure.subject == subject))


def mask_username(username: str) -> str:
    """ "olivia" -> "o***#1a2b3c4d": an operator can tell usernames apart and check a guess,
    the log does not spell them out (people type their password into the username field)."""
    digest = hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{username[:1]}***#{digest}"


def mask_address(address: str) -> str:
    """ "203.0.113.57" -> "203.0.113.0/24", an IPv6 address to its /48: the network, not the
    person."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "an unknown address"
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def _last_lockout(session: Session, username: str, *, since: datetime) -> datetime | None:
    latest: datetime | None = session.execute(
        select(func.max(LoginFailure.failed_at)).where(
            *_of(LoginFailureKind.LOCKOUT, username), LoginFailure.failed_at > since
        )
    ).scalar_one()
    return latest


def _count(session: Session, kind: LoginFailureKind, name: str, since: datetime) -> int:
    """How many rows of `kind` for `name` are later than `since`."""
    counted: int = session.execute(
        select(func.count())
        .select_from(LoginFailure)
        .where(*_of(kind, name), LoginFailure.failed_at > since)
    ).scalar_one()
    return counted


def _of(kind: LoginFailureKind, name: str) -> tuple[ColumnElement[bool], ...]:
    """The conditions that pick the rows of `kind` for `name`."""
    return (LoginFailure.subject == _subject(kind, name), LoginFailure.kind == kind.value)


def _row(kind: LoginFailureKind, name: str, now: datetime) -> LoginFailure:
    return LoginFailure(kind=kind.value, subject=_subject(kind, name), failed_at=now)


def _subject(kind: LoginFailureKind, name: str) -> str:
    """The stored stand-in for a username or address (a lockout shares its username's)."""
    scope = "address" if kind is LoginFailureKind.ADDRESS else "account"
    return hashlib.sha256(f"{scope}:{name}".encode("utf-8", "surrogatepass")).hexdigest()


def _minutes(span: timedelta) -> str:
    return f"{span.total_seconds() / 60:g}"
