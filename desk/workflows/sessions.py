"""An agent's session ending."""

from __future__ import annotations

from desk.events import SessionEnded
from desk.services import agents
from desk.workflows.context import Desk


async def log_out(desk: Desk, token: str) -> None:
    """End the session of `token` (if it still exists) and publish `session.ended`: the
    consoles opened with it close at once, wherever they are connected."""
    await desk.units(lambda session: agents.end_session(session, token), write=True)
    await session_ended(desk, token)


async def session_ended(desk: Desk, token: str) -> None:
    """Publish `session.ended` for the session of `token`, which just ended (a logout, or a
    new login in the same browser): its consoles close at once, wherever they are connected."""
    await desk.bus.publish(SessionEnded(session_key=agents.session_key(token)))
