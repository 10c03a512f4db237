"""A mortgage handoff on its application's timeline (`desk.application_timeline`), through
the real app and its event bus."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aiohttp.test_utils import TestServer

from desk.api.runtime import TASKS
from desk.application_timeline import ApplicationTimeline, mortgage_reference, next_step_of
from desk.bus import InProcessBus
from desk.events import ApplicationEventRecorded, HandoffResolved
from desk.services import applications
from desk.store.database import Database
from desk.workflows.context import Desk
from tests.desk.api.test_cases import case_of, kinds, mortgage_context
from tests.desk.conftest import Browser, post_application, post_handoff
from tests.desk.workflows.test_events_published import record

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")

ContextFactory = Callable[..., dict[str, Any]]


async def claimed_mortgage_handoff(
    bot: Browser, agent: Browser, context_factory: ContextFactory, reference: str
) -> str:
    handoff_id = await post_handoff(bot, mortgage_context(context_factory, reference))
    status, body = await agent.post(f"/api/handoffs/{handoff_id}/claim")
    assert status == 200, body
    return handoff_id


async def settled(bot: Browser) -> None:
    """Wait for the desk's background work: the timeline is written there."""
    await bot.server.app[TASKS].settle()


async def record_of(bot: Browser, reference: str) -> dict[str, Any]:
    await settled(bot)
    status, record = await bot.get(f"/api/applications/{reference}")
    assert status == 200, record
    return dict(record)


async def test_a_mortgage_handoff_is_handed_to_an_advisor_on_the_timeline(
    bot: Browser, sam: Browser, context_factory: ContextFactory
) -> None:
    reference = await post_application(bot)

    handoff_id = await post_handoff(bot, mortgage_context(context_factory, reference.lower()))

    record = await record_of(bot, reference)
    assert record["stage"] == "advice"  # the first hand-over starts the advice
    entry = record["events"][-1]
    assert (entry["kind"], entry["touchpoint"], entry["actor_kind"], entry["actor"]) == (
        "handed_to_advisor",
        "web_chat",
        "bot",
        None,
    )
    assert entry["detail"] == {"handoff_id": handoff_id, "reason": "order_delayed"}


async def test_resolving_hands_back_with_the_agents_name_and_next_step(
    bot: Browser, sam: Browser, context_factory: ContextFactory
) -> None:
    reference = await post_application(bot)
    handoff_id = await claimed_mortgage_handoff(bot, sam, context_factory, reference)

    status, body = await sam.post(
        f"/api/handoffs/{handoff_id}/resolve",
        json={"disposition": "resolved", "slots": {"mortgage_next_step": "book_appointment"}},
    )

    assert status == 200, body
    record = await record_of(bot, reference)
    assert kinds(record)[2:] == ["handed_to_advisor", "handed_back"]
    entry = record["events"][-1]
    assert (entry["touchpoint"], entry["actor_kind"], entry["actor"]) == ("desk", "agent", "Sam")
    assert entry["detail"] == {"handoff_id": handoff_id, "next_step": "book_appointment"}


async def test_entries_are_written_in_the_order_of_their_events_however_slow_the_first(
    bot: Browser, sam: Browser, context_factory: ContextFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A busy desk once wrote a quick resolve's "handed back" before the handoff's own
    "handed to an advisor": the first write is held back here until the resolve is in."""
    resolved = asyncio.Event()
    read = ApplicationTimeline._mortgage_handoff

    async def slow_first_read(self: ApplicationTimeline, handoff_id: str, **kwargs: Any) -> Any:
        if not kwargs.get("with_slots"):  # the handoff's own entry
            await resolved.wait()
        return await read(self, handoff_id, **kwargs)

    monkeypatch.setattr(ApplicationTimeline, "_mortgage_handoff", slow_first_read)
    reference = await post_application(bot)
    handoff_id = await claimed_mortgage_handoff(bot, sam, context_factory, reference)
    status, body = await sam.post(
        f"/api/handoffs/{handoff_id}/resolve", json={"disposition": "resolved"}
    )
    assert status == 200, body
    resolved.set()

    assert kinds(await record_of(bot, reference))[2:] == ["handed_to_advisor", "handed_back"]


async def test_a_hand_back_without_a_next_step_says_none(
    bot: Browser, sam: Browser, context_factory: ContextFactory
) -> None:
    reference = await post_application(bot)
    handoff_id = await claimed_mortgage_handoff(bot, sam, context_factory, reference)

    await sam.post(f"/api/handoffs/{handoff_id}/resolve", json={"disposition": "resolved"})

    assert (await record_of(bot, reference))["events"][-1]["detail"] == {
        "handoff_id": handoff_id,
        "next_step": None,
    }


async def test_a_handoff_without_an_application_leaves_every_timeline_alone(
    bot: Browser, sam: Browser, context_factory: ContextFactory
) -> None:
    reference = await post_application(bot)

    handoff_id = await post_handoff(bot, context_factory(queue="mortgage_advisors"))

    assert handoff_id
    assert kinds(await record_of(bot, reference)) == ["chat_started", "form_completed"]


async def test_a_withdrawn_application_is_logged_and_the_handoff_goes_on(
    bot: Browser,
    sam: Browser,
    database: Database,
    context_factory: ContextFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    reference = await post_application(bot)
    with database.session(write=True) as session:
        applications.load(session, reference).stage = "withdrawn"
    caplog.set_level(logging.INFO, logger="desk.application_timeline")

    handoff_id = await claimed_mortgage_handoff(bot, sam, context_factory, reference)
    await settled(bot)

    assert any("handed_to_advisor not recorded" in r.getMessage() for r in caplog.records)
    record = await record_of(bot, reference)
    assert (record["stage"], len(record["events"])) == ("withdrawn", 2)
    status, body = await sam.get(f"/api/handoffs/{handoff_id}")
    assert (status, body["handoff"]["status"]) == (200, "claimed")


async def test_an_unknown_application_is_logged_and_the_handoff_is_taken(
    bot: Browser, sam: Browser, context_factory: ContextFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="desk.application_timeline")

    handoff_id = await post_handoff(bot, mortgage_context(context_factory, "MTG-ZZZZZ"))
    await settled(bot)

    assert handoff_id
    assert any("no application MTG-ZZZZZ" in r.getMessage() for r in caplog.records)


async def test_a_database_failure_is_logged_and_never_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def database_down(*_args: Any, **_kwargs: Any) -> Any:
        raise OSError("database down")

    desk = cast(Desk, SimpleNamespace(units=database_down, bus=InProcessBus()))
    event = HandoffResolved(
        handoff_id="00000000-0000-4000-8000-000000000000",
        sender_id="web-x",
        queue="mortgage_advisors",
        agent_id=1,
        agent_name="Maya",
        disposition="resolved",
    )

    await ApplicationTimeline(desk).handed_back(event)  # does not raise

    (logged,) = [r for r in caplog.records if r.name == "desk.application_timeline"]
    assert logged.levelno == logging.ERROR
    assert "web-x" not in logged.getMessage()


async def test_each_entry_is_published_for_the_consoles(
    server: TestServer, bot: Browser, context_factory: ContextFactory
) -> None:
    reference = await post_application(bot)
    published = record(server)

    await post_handoff(bot, mortgage_context(context_factory, reference))
    await settled(bot)

    recorded = [e for e in published if isinstance(e, ApplicationEventRecorded)]
    assert [(e.reference, e.kind, e.stage) for e in recorded] == [
        (reference, "handed_to_advisor", "advice")
    ]


async def test_the_advisor_sees_the_hand_over_in_the_case(
    bot: Browser, sam: Browser, context_factory: ContextFactory
) -> None:
    reference = await post_application(bot)
    await post_handoff(bot, mortgage_context(context_factory, reference))
    await settled(bot)

    case = await case_of(sam, reference)

    assert case["application"]["stage"] == "advice"
    assert case["actions"]["can_record_advice"] is True


@pytest.mark.parametrize(
    ("context", "reference"),
    [
        ({"evidence": {"mortgage_application": {"reference": "MTG-7K3Q9"}}}, "MTG-7K3Q9"),
        ({"evidence": {"mortgage_application": {"reference": None}}}, None),
        ({"evidence": {"mortgage_application": None}}, None),
        ({"evidence": {"mortgage_application": {"reference": 7}}}, None),
        ({"evidence": ["not", "an", "object"]}, None),
        ({}, None),
    ],
)
def test_the_reference_is_read_only_from_where_the_contract_puts_it(
    context: dict[str, Any], reference: str | None
) -> None:
    assert mortgage_reference(context) == reference


@pytest.mark.parametrize(
    ("slots", "step"),
    [
        ({"mortgage_next_step": "collect_documents"}, "collect_documents"),
        ({"mortgage_next_step": "none"}, "none"),
        ({"mortgage_next_step": "rm -rf"}, None),
        ({"mortgage_next_step": ["collect_documents"]}, None),
        ({}, None),
    ],
)
def test_only_a_next_step_the_bot_knows_is_recorded(
    slots: dict[str, Any], step: str | None
) -> None:
    assert next_step_of(slots) == step
