"""The console websocket ends with its session: closed on logout and on expiry (1008, with the
reason), so the console goes to the login page instead of showing a dead desk."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from aiohttp import ClientWebSocketResponse, WSMsgType
from aiohttp.test_utils import TestServer
from sqlalchemy import select, update

from desk.api.runtime import LIVE
from desk.console_hub import LOGGED_OUT, SESSION_ENDED_CODE, SESSION_EXPIRED
from desk.services.agents import Actor
from desk.store.database import Database
from desk.store.models import AgentSession
from desk.store.types import utcnow
from tests.desk.api.test_live_handoff import WAIT, connect, next_message
from tests.desk.conftest import Browser, make_context, post_handoff


async def closed_with(socket: ClientWebSocketResponse) -> tuple[int, str]:
    """Wait for the desk to close the socket; its close code and reason.

    Messages sent before the close (the `connected` greeting) are skipped.
    """
    while True:
        message = await socket.receive(timeout=WAIT)
        if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
            continue
        assert message.type == WSMsgType.CLOSE, message
        return int(message.data), str(message.extra)


async def test_logging_out_closes_the_consoles_of_that_session(
    server: TestServer, olivia: Browser, browsers: Callable[..., Browser]
) -> None:
    elsewhere = await browsers().login("olivia")  # Olivia in a second browser
    first, second = await connect(olivia), await connect(olivia)
    other = await connect(elsewhere)

    status, _ = await olivia.post("/api/logout")

    assert status == 200
    assert await closed_with(first) == (SESSION_ENDED_CODE, LOGGED_OUT)
    assert await closed_with(second) == (SESSION_ENDED_CODE, LOGGED_OUT)
    assert SESSION_ENDED_CODE == 1008  # policy violation
    # The other browser's session goes on.
    await other.send_str("ping")
    assert (await other.receive(timeout=WAIT)).data == "pong"
    assert len(server.app[LIVE]) == 1
    await other.close()


async def test_logging_out_without_a_console_is_fine(
    server: TestServer, olivia: Browser, anonymous: Browser
) -> None:
    assert await olivia.post("/api/logout") == (200, {"logged_out": True})
    assert await anonymous.post("/api/logout") == (200, {"logged_out": True})
    assert len(server.app[LIVE]) == 0


async def test_a_console_is_closed_when_its_session_expires(
    server: TestServer, olivia: Browser, database: Database
) -> None:
    with database.session() as session:
        expires_at = session.execute(select(AgentSession.expires_at)).scalar_one()
    # The desk's clock runs to a moment shortly before the session's end.
    shift = expires_at - utcnow() - timedelta(seconds=0.5)
    hub = server.app[LIVE]
    hub.clock = lambda: utcnow() + shift

    socket = await olivia.live()

    assert await closed_with(socket) == (SESSION_ENDED_CODE, SESSION_EXPIRED)
    assert len(hub) == 0
    assert (await olivia.get("/api/me"))[0] == 200  # only the hub's clock was moved on


async def test_an_expired_console_gets_nothing_more_and_is_closed(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    leo: Browser,
    database: Database,
    actors: dict[str, Actor],
) -> None:
    with database.session(write=True) as session:
        session.execute(
            update(AgentSession)
            .where(AgentSession.agent_id == actors["leo"].agent_id)
            .values(expires_at=utcnow() + timedelta(days=2))
        )
    olivia_live, leo_live = await connect(olivia), await connect(leo)
    hub = server.app[LIVE]
    hub.clock = lambda: utcnow() + timedelta(hours=13)  # Olivia's 12 hours are over, not Leo's

    await post_handoff(bot, make_context(queue="order_support"))
    tech = await post_handoff(bot, make_context(queue="tech_support_l2"))

    assert await closed_with(olivia_live) == (SESSION_ENDED_CODE, SESSION_EXPIRED)
    assert (await next_message(leo_live))["handoff_id"] == tech
    assert len(hub) == 1
    await leo_live.close()


async def test_on_shutdown_consoles_are_told_the_desk_is_going_away(
    olivia: Browser, server: TestServer
) -> None:
    socket = await connect(olivia)

    await server.app.shutdown()

    assert await closed_with(socket) == (1001, "desk shutting down")  # reconnect later
