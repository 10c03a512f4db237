"""An agent logging out."""

from __future__ import annotations

from desk.events import SessionEnded
from desk.services import agents
from desk.workflows.context import Desk


async def log_out(desk: Desk, token: str) -> None:
    """End the session of `token` (if it still exists) and publish `session.ended`: the
    consoles opened with it close at once, wherever they are connected."""
    await desk.units(lambda session: agents.end_session(session, token), write=True)
    await desk.bus.publish(SessionEnded(session_key=agents.session_key(token)))
