"""The waiting states said as plain bot messages too (issue 8): place in the queue, an agent
joining and leaving reach every widget as marked `bot` events in the one transcript, in order,
never repeated, and Rasa being down never fails the agent."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from contract.desk_notices import DESK_NOTICE_KEY, STATUS_NOTICES, DeskNotice
from desk.services.transcripts import visible_turns
from tests.desk.api.test_live_handoff import send_event, settle, user_event
from tests.desk.conftest import Browser, post_handoff
from tests.desk.rasa_stand_in import RasaStandIn

ContextFactory = Callable[..., dict[str, Any]]
CHAT_JS = Path(__file__).resolve().parents[3] / "desk" / "web" / "chat.js"


def said(rasa: RasaStandIn, sender_id: str) -> list[tuple[str | None, str]]:
    """The bot events of a conversation, in order: (their desk marking, text)."""
    return [
        ((event.get("metadata") or {}).get(DESK_NOTICE_KEY), event["text"])
        for event in rasa.conversation(sender_id).events
        if event["event"] == "bot"
    ]


def notices(rasa: RasaStandIn, sender_id: str) -> list[str]:
    return [text for marking, text in said(rasa, sender_id) if marking is not None]


async def test_a_whole_handoff_is_told_in_plain_messages_in_order(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
) -> None:
    handoff_id = await post_handoff(bot, context_factory(sender_id="plain"))
    await settle(server)
    claim = await olivia.post(f"/api/handoffs/{handoff_id}/claim")
    await olivia.post(f"/api/handoffs/{handoff_id}/messages", json={"text": "Hi, Olivia here."})
    await olivia.post(f"/api/handoffs/{handoff_id}/resolve", json={"disposition": "resolved"})

    assert claim[0] == 200
    assert said(rasa, "plain") == [
        (
            "queue_position",
            "You're number 1 in the queue for Order Support. Estimated wait: about 4 minutes.",
        ),
        ("agent_joined", "Olivia from Order Support has joined the chat."),
        (None, "Hi, Olivia here."),  # the agent's own turn comes after "joined"
        ("agent_left", "Olivia has left the chat."),
    ]
    # Each goes to the customer's channel, and its status went first with the same words, so
    # a rich page showing the status can skip the message.
    marked = [c for c in rasa.of_kind("events") if c.body[0].get("event") == "bot"]
    assert all(c.query.get("execute_side_effects") == "true" for c in marked)
    announced = [n.get("notice_text") for n in rasa.notifications("plain")]
    assert announced == [*notices(rasa, "plain"), None]  # back_with_bot has no message
    # The bot's welcome back comes after the agent left.
    kinds = [c.kind for c in rasa.calls if c.sender_id == "plain" and c.kind != "handoff_opened"]
    assert kinds[-3:] == ["events", "execute", "notify"]


async def test_a_place_is_told_once_and_again_only_when_it_changes_or_is_asked(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
) -> None:
    first = await post_handoff(bot, context_factory(sender_id="ahead"))
    await post_handoff(bot, context_factory(sender_id="behind"))
    await settle(server)
    await post_handoff(bot, context_factory(sender_id="last"))  # behind's place stays 2
    await settle(server)
    await olivia.post(f"/api/handoffs/{first}/claim")  # behind moves up
    await settle(server)
    await send_event(bot, "behind", user_event("/keep_waiting", intent="keep_waiting"))
    await settle(server)

    assert notices(rasa, "behind") == [
        "You're number 2 in the queue for Order Support. Estimated wait: about 8 minutes.",
        "You're number 1 in the queue for Order Support. Estimated wait: about 4 minutes.",
        "You're still number 1 in the queue for Order Support. Estimated wait: about 4 minutes.",
    ]
    assert notices(rasa, "last") == [
        "You're number 3 in the queue for Order Support. Estimated wait: about 12 minutes.",
        "You're number 2 in the queue for Order Support. Estimated wait: about 8 minutes.",
    ]


async def test_a_place_rasa_could_not_take_is_told_at_the_next_move(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
) -> None:
    rasa.fail["events"] = 500
    await post_handoff(bot, context_factory(sender_id="front"))
    await post_handoff(bot, context_factory(sender_id="patient"))
    await settle(server)
    del rasa.fail["events"]
    await post_handoff(bot, context_factory(sender_id="newcomer"))  # patient's place unchanged
    await settle(server)

    assert notices(rasa, "patient") == [
        "You're number 2 in the queue for Order Support. Estimated wait: about 8 minutes."
    ]


async def test_rasa_down_never_fails_the_claim_or_the_resolve(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
) -> None:
    handoff_id = await post_handoff(bot, context_factory(sender_id="down"))
    await settle(server)
    rasa.fail["events"] = 503
    rasa.fail["notify"] = 503

    claim = await olivia.post(f"/api/handoffs/{handoff_id}/claim")
    resolve = await olivia.post(
        f"/api/handoffs/{handoff_id}/resolve", json={"disposition": "resolved"}
    )

    assert claim[0] == 200 and claim[1]["status"] == "claimed"
    assert resolve[0] == 200 and resolve[1]["handoff"]["status"] == "resolved"
    assert resolve[1]["handed_back"] is False  # the hand-back itself needs Rasa
    tried = [c.body[0].get("metadata", {}).get(DESK_NOTICE_KEY) for c in rasa.of_kind("events")]
    assert "agent_joined" in tried and "agent_left" in tried


def test_the_transcript_marks_the_desks_own_messages() -> None:
    tracker = {
        "events": [
            {"event": "bot", "text": "Hi!", "timestamp": 1.0},
            {
                "event": "bot",
                "text": "Olivia from Order Support has joined the chat.",
                "metadata": {DESK_NOTICE_KEY: "agent_joined"},
                "timestamp": 2.0,
            },
        ]
    }

    turns = visible_turns(tracker)

    assert [turn.get("notice") for turn in turns] == [None, "agent_joined"]


def test_the_chat_page_skips_the_same_notices_the_contract_names() -> None:
    declared = re.search(r"var STATUS_NOTICES = \[([^\]]*)\];", CHAT_JS.read_text("utf-8"))

    assert declared is not None
    in_page = set(re.findall(r'"([a-z_]+)"', declared.group(1)))
    assert in_page == {notice.value for notice in STATUS_NOTICES}
    assert DeskNotice.WAIT_CHOICE.value not in in_page  # its message carries the quick replies
