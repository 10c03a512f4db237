"""Desk users: creating them, logging in, and their sessions.

A session is a random token in an HttpOnly cookie; only its SHA-256 is stored. Sessions
expire after a fixed lifetime (DESK_SESSION_HOURS); `last_seen_at` is refreshed at most every
`TOUCH_INTERVAL` so that reads do not turn into a write per request, and "online" means a
session seen within the last N seconds.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.orm import Session

from desk.security import (
    burn_password_check,
    hash_password,
    new_session_token,
    token_digest,
    verify_password,
)
from desk.services import login_throttle
from desk.services.errors import AuthenticationFailed, Conflict, InvalidInput
from desk.services.login_throttle import LoginLimits
from desk.store.models import Agent, AgentRole, AgentSession
from desk.store.repositories import AgentRepository, SessionRepository
from desk.store.types import utcnow

USERNAME_PATTERN: Final = r"^[a-z0-9][a-z0-9_.-]{1,63}$"
MIN_PASSWORD_LENGTH: Final = 8
MAX_PASSWORD_LENGTH: Final = 1024
TOUCH_INTERVAL: Final = timedelta(seconds=15)
DEFAULT_ONLINE_SECONDS: Final = 60.0
BAD_CREDENTIALS: Final = "unknown username or wrong password"


@dataclass(frozen=True)
class Actor:
    """The logged-in desk user a request acts as."""

    agent_id: int
    username: str
    display_name: str
    role: str
    queues: frozenset[str]
    #: The branch a branch_staff user works at (None for everyone else).
    branch: str | None = None

    @classmethod
    def of(cls, agent: Agent) -> Actor:
        """The actor for an agent row (its queue links must be loaded)."""
        return cls(
            agent_id=agent.id,
            username=agent.username,
            display_name=agent.display_name,
            role=agent.role,
            queues=frozenset(agent.queues),
            branch=agent.branch,
        )

    @property
    def is_supervisor(self) -> bool:
        """Supervisors see and act on every queue."""
        return self.role == AgentRole.SUPERVISOR.value

    def serves(self, queue: str) -> bool:
        """Whether this user works `queue`."""
        return self.is_supervisor or queue in self.queues


@dataclass(frozen=True)
class StartedSession:
    """A new login: the token goes into the cookie, never into the database."""

    token: str
    actor: Actor
    expires_at: datetime


def create_agent(
    session: Session,
    *,
    username: str,
    display_name: str,
    password: str,
    role: AgentRole = AgentRole.AGENT,
    queues: Collection[str] = (),
    branch: str | None = None,
    now: datetime | None = None,
) -> Agent:
    """Create a desk user serving `queues` (branch staff: working at `branch`)."""
    errors = []
    if (role is AgentRole.BRANCH_STAFF) != (branch is not None):
        errors.append("/branch: branch staff, and only they, work at a branch")
    if not re.fullmatch(USERNAME_PATTERN, username):
        errors.append(f"/username: {username!r} must match {USERNAME_PATTERN}")
    if not display_name.strip() or len(display_name) > 100:
        errors.append("/display_name: must be 1 to 100 characters")
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        errors.append(f"/password: must be {MIN_PASSWORD_LENGTH} to 1024 characters")
    if errors:
        raise InvalidInput(errors)
    agents = AgentRepository(session)
    if agents.by_username(username) is not None:
        raise Conflict(f"username {username!r} is taken")
    agent = agents.add(
        Agent(
            username=username,
            display_name=display_name.strip(),
            password_hash=hash_password(password),
            role=role.value,
            branch=branch,
            created_at=now or utcnow(),
        )
    )
    agents.set_queues(agent, queues)
    return agent


def authenticate(session: Session, username: str, password: str) -> Agent:
    """The active agent with these credentials; `AuthenticationFailed` otherwise.

    An unknown username, a wrong password and a deactivated account fail alike, in about the
    same time. (Logins from the desk's form go through `log_in`, which also throttles.)
    """
    agent = _verified(session, username, password)
    if agent is None:
        raise AuthenticationFailed(BAD_CREDENTIALS)
    return agent


@dataclass(frozen=True)
class LoginAttempt:
    """What someone typed into the login form, and the address it came from."""

    username: str
    password: str
    address: str


def log_in(
    session: Session,
    attempt: LoginAttempt,
    *,
    limits: LoginLimits,
    lifetime: timedelta,
    replacing: str | None = None,
    now: datetime | None = None,
) -> StartedSession | None:
    """Log in within the limits on guessing passwords (`desk.services.login_throttle`).

    Every login gets a new session; the session of the cookie the browser still carried
    (`replacing`, whoever's it was) ends, so no token known before the login is logged in
    after it. The password is checked even for a locked username, so a lockout costs the same
    time as a wrong password and is never revealed.

    Returns:
        The new session; None when the login failed (wrong credentials or a locked username).
        The failure is counted in this unit of work: the caller commits it, then answers
        `AuthenticationFailed(BAD_CREDENTIALS)`.

    Raises:
        TooManyAttempts: The address failed too many logins lately (nothing is checked).
    """
    now = now or utcnow()
    login_throttle.check_address(session, attempt.address, limits, now=now)
    locked = login_throttle.is_locked(session, attempt.username, limits, now=now)
    agent = _verified(session, attempt.username, attempt.password)
    if agent is None or locked:
        login_throttle.record_failure(
            session, attempt.username, attempt.address, limits, locked=locked, now=now
        )
        return None
    login_throttle.clear_account(session, attempt.username)
    if replacing:
        end_session(session, replacing)
    return start_session(session, agent, lifetime=lifetime, now=now)


def _verified(session: Session, username: str, password: str) -> Agent | None:
    """The active agent with these credentials, or None; one password check in every case."""
    agent = AgentRepository(session).by_username(username)
    if agent is None:
        burn_password_check(password)
        return None
    if not verify_password(password, agent.password_hash) or not agent.active:
        return None
    return agent


def start_session(
    session: Session, agent: Agent, *, lifetime: timedelta, now: datetime | None = None
) -> StartedSession:
    """Log `agent` in for `lifetime`."""
    now = now or utcnow()
    token = new_session_token()
    expires_at = now + lifetime
    SessionRepository(session).add(
        AgentSession(
            token_hash=token_digest(token),
            agent_id=agent.id,
            created_at=now,
            expires_at=expires_at,
            last_seen_at=now,
        )
    )
    return StartedSession(token=token, actor=Actor.of(agent), expires_at=expires_at)


@dataclass(frozen=True)
class SessionInfo:
    """A live session as long-lived connections (the console's websocket) need to know it.

    `key` identifies the session without its token (the token's SHA-256, as stored).
    """

    key: str
    expires_at: datetime


def session_key(token: str) -> str:
    """The key of the session a cookie token belongs to (see `SessionInfo`)."""
    return token_digest(token)


def session_info(
    session: Session, token: str, *, now: datetime | None = None
) -> SessionInfo | None:
    """The key and expiry of a live session; None when it is unknown or has expired."""
    now = now or utcnow()
    found = SessionRepository(session).by_token_hash(session_key(token))
    if found is None or found.expires_at <= now:
        return None
    return SessionInfo(key=found.token_hash, expires_at=found.expires_at)


def session_needs_write(session: Session, token: str, *, now: datetime | None = None) -> bool:
    """Whether `actor_for_token` would write: an expired session to delete, or `last_seen_at`
    to refresh (at most every TOUCH_INTERVAL). Read-only, so most requests check their session
    without taking the write lock."""
    now = now or utcnow()
    found = SessionRepository(session).by_token_hash(token_digest(token))
    return found is not None and (
        found.expires_at <= now or now - found.last_seen_at >= TOUCH_INTERVAL
    )


def actor_for_token(session: Session, token: str, *, now: datetime | None = None) -> Actor | None:
    """The user of a session cookie, or None when it is unknown, expired or deactivated.

    An expired session is deleted; a live one is marked as seen (at most every TOUCH_INTERVAL).
    """
    now = now or utcnow()
    sessions = SessionRepository(session)
    token_hash = token_digest(token)
    found = sessions.by_token_hash(token_hash)
    if found is None:
        return None
    if found.expires_at <= now:
        sessions.delete_by_token_hash(token_hash)
        return None
    if not found.agent.active:
        return None
    if now - found.last_seen_at >= TOUCH_INTERVAL:
        found.last_seen_at = now
    return Actor.of(found.agent)


def end_session(session: Session, token: str) -> bool:
    """Log out; whether the session existed."""
    return SessionRepository(session).delete_by_token_hash(session_key(token))


def expire_sessions(session: Session, *, now: datetime | None = None) -> int:
    """Delete every expired session; how many."""
    return SessionRepository(session).delete_expired(now or utcnow())


def online_agent_ids(
    session: Session,
    *,
    within_seconds: float = DEFAULT_ONLINE_SECONDS,
    now: datetime | None = None,
) -> list[int]:
    """Agents with a live session seen in the last `within_seconds`."""
    now = now or utcnow()
    return SessionRepository(session).seen_since(now - timedelta(seconds=within_seconds), now)
