"""The consoles told of mortgage applications (`desk.console_hub`): `application_changed` to
the case workers only, without personal data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse

from desk.console_hub import CaseWorkers
from desk.services.agents import Actor
from tests.desk.api.test_cases import maya, mortgage_context
from tests.desk.conftest import Browser, post_application, post_handoff

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")

WAIT = 5.0

__all__ = ["maya"]  # the mortgage advisor fixture, shared with the case routes' tests


async def connect(browser: Browser) -> ClientWebSocketResponse:
    socket = await browser.live()
    hello = await socket.receive_json(timeout=WAIT)
    assert hello["type"] == "connected"
    return socket


async def next_of(socket: ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next message of type `kind` (others, e.g. queue reloads, are skipped)."""
    while True:
        message: dict[str, Any] = await socket.receive_json(timeout=WAIT)
        if message["type"] == kind:
            return message


async def test_case_workers_are_told_an_application_opened_and_changed(
    bot: Browser, sam: Browser, maya: Browser
) -> None:
    sockets = [await connect(sam), await connect(maya)]

    reference = await post_application(bot)
    for socket in sockets:
        opened = await next_of(socket, "application_changed")
        assert opened == {
            "type": "application_changed",
            "reference": reference,
            "stage": "intake",
            "kind": "opened",
        }

    status, body = await maya.post(f"/api/cases/{reference}/notes", json={"text": "Jane Smith"})
    assert status == 201, body
    for socket in sockets:
        changed = await next_of(socket, "application_changed")
        assert changed == {
            "type": "application_changed",
            "reference": reference,
            "stage": "intake",
            "kind": "advisor_note",
        }
        assert "Jane" not in str(changed)


async def test_an_order_agent_is_not_told_of_applications(
    bot: Browser, olivia: Browser, context_factory: Callable[..., dict[str, Any]]
) -> None:
    socket = await connect(olivia)
    reference = await post_application(bot)
    await post_handoff(bot, mortgage_context(context_factory, reference))

    # Then something she is told: the first message she gets is about her own queue.
    handoff_id = await post_handoff(bot, context_factory(queue="order_support"))

    first = await socket.receive_json(timeout=WAIT)
    assert (first["type"], first["handoff_id"]) == ("queue_changed", handoff_id)


def _actor(role: str, queues: frozenset[str], branch: str | None = None) -> Actor:
    return Actor(1, "someone", "Someone", role, queues, branch)


@pytest.mark.parametrize(
    ("actor", "told"),
    [
        (_actor("agent", frozenset({"mortgage_advisors"})), True),
        (_actor("supervisor", frozenset()), True),
        (_actor("agent", frozenset({"order_support", "tech_support_l2"})), False),
        (_actor("branch_staff", frozenset(), "leeds_park_row"), False),
    ],
)
def test_only_case_workers_are_told_of_applications(actor: Actor, told: bool) -> None:
    assert CaseWorkers().includes(actor) is told
