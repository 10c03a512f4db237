"""The customer is told an agent joined (and left) even when the desk or Rasa failed just then.

Issue 15: the chaos suite killed the desk right after a claim was saved and the customer never
heard "<agent> has joined the chat.". These run the real desk on a real SQLite database and a
stand-in Rasa server: a notice that did not reach Rasa (Rasa refused it, or the desk stopped
after the claim) is sent by the bot sync's sweep, once; one that reached Rasa before its
sender stopped is not sent again; two desk processes sweeping together send it once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from contract.bot_actions import ACTION_WELCOME_BACK
from contract.desk_notices import DESK_NOTICE_KEY, DeskNotice
from desk import bot_sync
from desk.api.runtime import BOT_SYNC, DATABASE, RASA, TASKS, UNITS
from desk.bot_sync import BotSync
from desk.services import claims
from desk.services.agents import Actor
from desk.store.repositories import HandoffRepository
from tests.desk.api.test_live_handoff import settle
from tests.desk.conftest import Browser, post_handoff
from tests.desk.rasa_stand_in import RasaStandIn

ContextFactory = Callable[..., dict[str, Any]]
JOINED = "Olivia from Order Support has joined the chat."


def said(rasa: RasaStandIn, sender_id: str, notice: DeskNotice) -> list[str]:
    """The texts of the desk's `notice` messages in the conversation's tracker."""
    return [
        str(event["text"])
        for event in rasa.conversation(sender_id).events
        if event["event"] == "bot"
        and (event.get("metadata") or {}).get(DESK_NOTICE_KEY) == notice.value
    ]


def in_order(rasa: RasaStandIn, sender_id: str) -> list[str]:
    """The desk's notices and the actions run, in the conversation's order."""
    return [
        (event.get("metadata") or {}).get(DESK_NOTICE_KEY) or str(event.get("name"))
        for event in rasa.conversation(sender_id).events
        if event["event"] in ("bot", "action")
    ]


@pytest.fixture(autouse=True)
def _sweep_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sweep takes every owed notice (no waiting for the first attempt's time)."""
    monkeypatch.setattr(bot_sync, "SWEEP_AFTER_SECONDS", -1.0)


async def queued(
    server: TestServer, bot: Browser, context_factory: ContextFactory, sender: str
) -> str:
    handoff_id = await post_handoff(bot, context_factory(sender_id=sender))
    await settle(server)
    return handoff_id


def claimed_without_telling(server: TestServer, handoff_id: str, olivia: Actor) -> None:
    """The claim saved, and the desk gone before it said anything (kill -9 after the commit)."""
    with server.app[DATABASE].session(write=True) as session:
        claims.claim(session, olivia, handoff_id)


async def test_a_claim_saved_before_the_desk_died_is_announced_by_the_sweep_once(
    server: TestServer,
    bot: Browser,
    rasa: RasaStandIn,
    actors: dict[str, Actor],
    context_factory: ContextFactory,
) -> None:
    handoff_id = await queued(server, bot, context_factory, "killed-mid-claim")
    claimed_without_telling(server, handoff_id, actors["olivia"])
    assert said(rasa, "killed-mid-claim", DeskNotice.AGENT_JOINED) == []

    # The restarted desk: a new bot sync over the same database sweeps.
    restarted = BotSync(server.app[UNITS], server.app[RASA], server.app[TASKS])
    assert await restarted.sweep() == 1
    assert await restarted.sweep() == 0

    assert said(rasa, "killed-mid-claim", DeskNotice.AGENT_JOINED) == [JOINED]
    assert "agent_joined" in rasa.statuses("killed-mid-claim")


async def test_a_joined_notice_rasa_refused_is_sent_when_rasa_is_back(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bot_sync, "RETRY_SECONDS", (0.0,))
    handoff_id = await queued(server, bot, context_factory, "rasa-refused")
    rasa.fail["events"] = 503

    status, body = await olivia.post(f"/api/handoffs/{handoff_id}/claim")
    await settle(server)  # the retry fails too
    assert status == 200, body
    assert said(rasa, "rasa-refused", DeskNotice.AGENT_JOINED) == []
    assert await server.app[BOT_SYNC].sweep() == 0  # Rasa is still down

    del rasa.fail["events"]
    assert await server.app[BOT_SYNC].sweep() == 1
    assert await server.app[BOT_SYNC].sweep() == 0
    assert said(rasa, "rasa-refused", DeskNotice.AGENT_JOINED) == [JOINED]


async def test_a_notice_that_reached_rasa_before_the_desk_died_is_not_said_again(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handoff_id = await queued(server, bot, context_factory, "told-then-killed")

    def killed(*_: object) -> None:
        raise RuntimeError("the desk died before it recorded the notice")

    # Rasa takes the notice; the desk dies before the record (its lease runs out).
    monkeypatch.setattr(bot_sync, "_mark_told", killed)
    monkeypatch.setattr(server.app[BOT_SYNC], "lease_seconds", -1.0)
    status, body = await olivia.post(f"/api/handoffs/{handoff_id}/claim")
    assert status == 200, body
    assert said(rasa, "told-then-killed", DeskNotice.AGENT_JOINED) == [JOINED]
    monkeypatch.undo()
    monkeypatch.setattr(bot_sync, "SWEEP_AFTER_SECONDS", -1.0)

    assert await server.app[BOT_SYNC].sweep() == 1  # recorded, from the tracker
    assert await server.app[BOT_SYNC].sweep() == 0
    assert said(rasa, "told-then-killed", DeskNotice.AGENT_JOINED) == [JOINED]
    assert len(rasa.of_kind("events")) == 2  # the place in the queue, the one notice


async def test_two_desks_sweeping_together_say_it_once(
    server: TestServer,
    bot: Browser,
    rasa: RasaStandIn,
    actors: dict[str, Actor],
    context_factory: ContextFactory,
) -> None:
    senders = [f"two-desks-{n}" for n in range(4)]
    for sender in senders:
        claimed_without_telling(
            server, await queued(server, bot, context_factory, sender), actors["olivia"]
        )
    desks = [BotSync(server.app[UNITS], server.app[RASA], server.app[TASKS]) for _ in range(2)]

    done = await asyncio.gather(*(desk.sweep() for desk in desks), desks[0].sweep())

    assert sum(done) == len(senders)
    for sender in senders:
        assert said(rasa, sender, DeskNotice.AGENT_JOINED) == [JOINED]


async def test_a_resolve_after_a_lost_join_says_joined_then_left(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    rasa: RasaStandIn,
    actors: dict[str, Actor],
    context_factory: ContextFactory,
) -> None:
    handoff_id = await queued(server, bot, context_factory, "lost-join")
    claimed_without_telling(server, handoff_id, actors["olivia"])

    status, body = await olivia.post(
        f"/api/handoffs/{handoff_id}/resolve", json={"disposition": "resolved"}
    )
    assert status == 200, body

    assert in_order(rasa, "lost-join")[-3:] == ["agent_joined", "agent_left", ACTION_WELCOME_BACK]
    assert await server.app[BOT_SYNC].sweep() == 0
    with server.app[DATABASE].session() as session:
        handoff = HandoffRepository(session).get(handoff_id)
        assert handoff is not None
        assert handoff.joined_told_at is not None and handoff.left_told_at is not None


async def test_a_retried_hand_back_says_the_left_notice_rasa_missed_before_the_welcome_back(
    server: TestServer,
    bot: Browser,
    olivia: Browser,
    rasa: RasaStandIn,
    context_factory: ContextFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rasa down while Olivia resolves: the hand-back and "Olivia has left the chat." both
    fail. Rasa back, Olivia tries the hand-back again: the customer hears she left, then the
    bot's welcome back (never the other way round, as a later sweep would have it)."""
    monkeypatch.setattr(bot_sync, "RETRY_SECONDS", ())  # no retries: only the hand-back's
    handoff_id = await queued(server, bot, context_factory, "left-while-down")
    status, body = await olivia.post(f"/api/handoffs/{handoff_id}/claim")
    assert status == 200, body
    await settle(server)
    rasa.fail["events"] = 503
    rasa.fail["execute"] = 503

    status, body = await olivia.post(
        f"/api/handoffs/{handoff_id}/resolve", json={"disposition": "resolved"}
    )
    assert (status, body["handed_back"]) == (200, False), body
    assert said(rasa, "left-while-down", DeskNotice.AGENT_LEFT) == []

    del rasa.fail["events"], rasa.fail["execute"]
    status, body = await olivia.post(f"/api/handoffs/{handoff_id}/hand-back")
    assert (status, body["handed_back"]) == (200, True), body

    assert in_order(rasa, "left-while-down")[-2:] == ["agent_left", ACTION_WELCOME_BACK]
    assert said(rasa, "left-while-down", DeskNotice.AGENT_LEFT) == ["Olivia has left the chat."]
    assert await server.app[BOT_SYNC].sweep() == 0


async def test_a_desk_that_died_holding_a_notice_delays_it_only_until_its_lease_ends(
    server: TestServer,
    bot: Browser,
    rasa: RasaStandIn,
    actors: dict[str, Actor],
    context_factory: ContextFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Desk A took the lease of an owed notice and was killed before sending it. Desk B may
    not send it while A's Rasa calls could still be under way, and may as soon as A's lease
    ends: a few seconds more than those calls (20 s at the default 5 s Rasa timeout)."""
    handoff_id = await queued(server, bot, context_factory, "died-holding-it")
    claimed_without_telling(server, handoff_id, actors["olivia"])
    desk_a, desk_b = (BotSync(server.app[UNITS], server.app[RASA], server.app[TASKS]) for _ in "ab")
    taken_at = bot_sync.utcnow()
    await desk_a.units(
        lambda s: bot_sync._take_lease(
            s, handoff_id, DeskNotice.AGENT_JOINED, taken_at, desk_a.lease_seconds
        ),
        write=True,
    )
    calls = bot_sync.CALLS_PER_NOTICE * server.app[RASA].timeout_seconds

    def at(seconds: float) -> None:
        monkeypatch.setattr(bot_sync, "utcnow", lambda: taken_at + timedelta(seconds=seconds))

    at(calls)  # desk A's slowest possible send would still be running
    assert await desk_b.sweep() == 0
    assert said(rasa, "died-holding-it", DeskNotice.AGENT_JOINED) == []
    at(desk_a.lease_seconds + 0.1)
    assert await desk_b.sweep() == 1
    assert said(rasa, "died-holding-it", DeskNotice.AGENT_JOINED) == [JOINED]
    assert bot_sync.lease_seconds(5.0) == 20.0
