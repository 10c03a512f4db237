"""What the application workflows publish on the event bus, through the real app
(`desk.workflows.applications`)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from aiohttp.test_utils import TestServer

from desk.api.runtime import DESK
from desk.events import MASK
from desk.services import applications
from desk.store.database import Database
from desk.workflows.applications import expire_idle
from tests.desk.conftest import Browser, post_application
from tests.desk.workflows.test_events_published import record

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")


async def test_opening_an_application_publishes_it_without_the_applicants_details(
    server: TestServer, bot: Browser
) -> None:
    published = record(server)

    reference = await post_application(bot)

    (opened,) = published
    assert opened.NAME.value == "application.opened"
    payload = opened.payload()
    assert payload == {
        "reference": reference,
        "stage": "intake",
        "occurred_at": payload["occurred_at"],
        "origin_channel": "rest",
        "origin_sender_id": "web-applicant",
    }
    assert datetime.fromisoformat(payload["occurred_at"]).utcoffset() is not None
    assert opened.masked()["origin_sender_id"] == MASK


async def test_each_timeline_entry_publishes_its_kind_and_the_stage_after_it(
    server: TestServer, bot: Browser
) -> None:
    reference = await post_application(bot)
    published = record(server)

    entries = [
        {
            "touchpoint": "desk",
            "kind": "note",
            "actor_kind": "agent",
            "actor": "maya",
            "detail": {"text": "Called"},
        },
        {"touchpoint": "phone", "kind": "withdrawn", "actor_kind": "customer"},
    ]
    for entry in entries:
        status, body = await bot.post(f"/api/applications/{reference.lower()}/events", json=entry)
        assert status == 200, body

    assert [event.NAME.value for event in published] == ["application.event_recorded"] * 2
    noted, withdrawn = (event.payload() for event in published)
    assert noted == {
        "reference": reference,
        "stage": "intake",
        "occurred_at": noted["occurred_at"],
        "touchpoint": "desk",
        "kind": "note",
        "actor_kind": "agent",
        "actor": "maya",
    }
    assert (withdrawn["stage"], withdrawn["kind"], withdrawn["actor"]) == (
        "withdrawn",
        "withdrawn",
        None,
    )
    last_entry = body["events"][-1]["occurred_at"]
    assert datetime.fromisoformat(withdrawn["occurred_at"]) == datetime.fromisoformat(last_entry)
    assert published[0].masked()["actor"] == MASK


async def test_an_entry_for_no_application_publishes_nothing(
    server: TestServer, bot: Browser
) -> None:
    published = record(server)

    entry = {"touchpoint": "desk", "kind": "note"}
    status, _ = await bot.post("/api/applications/MTG-00000/events", json=entry)

    assert status == 404
    assert published == []


# --- Idle applications expire ---------------------------------------------------------------

IDLE = timedelta(days=90)
NOW = datetime(2027, 6, 1, 12, 0, tzinfo=timezone.utc)


def untouched_since(database: Database, reference: str, moment: datetime, stage: str) -> None:
    """Make the application look as if nothing happened to it since `moment`, at `stage`."""
    with database.session(write=True) as session:
        application = applications.load(session, reference)
        application.updated_at = moment
        application.stage = stage


async def test_an_application_nobody_touched_for_the_idle_time_expires(
    server: TestServer, bot: Browser, database: Database
) -> None:
    idle = await post_application(bot)
    recent = await post_application(bot)
    untouched_since(database, idle, NOW - IDLE - timedelta(minutes=1), "documents")
    untouched_since(database, recent, NOW - IDLE + timedelta(minutes=1), "documents")
    published = record(server)

    expired = await expire_idle(server.app[DESK], now=NOW, idle=IDLE)

    assert expired == [idle]
    status, body = await bot.get(f"/api/applications/{idle}")
    assert (status, body["stage"]) == (200, "expired")
    entry = body["events"][-1]
    assert (entry["kind"], entry["touchpoint"], entry["actor_kind"]) == (
        "expired",
        "system",
        "system",
    )
    assert entry["detail"] == {"idle_days": 90.0}
    assert (await bot.get(f"/api/applications/{recent}"))[1]["stage"] == "documents"
    assert [(e.reference, e.kind) for e in published] == [(idle, "expired")]


@pytest.mark.parametrize("stage", ["signed", "withdrawn", "expired"])
async def test_an_application_that_has_ended_never_expires_again(
    server: TestServer, bot: Browser, database: Database, stage: str
) -> None:
    reference = await post_application(bot)
    untouched_since(database, reference, NOW - 10 * IDLE, stage)

    assert await expire_idle(server.app[DESK], now=NOW, idle=IDLE) == []
    status, body = await bot.get(f"/api/applications/{reference}")
    assert (status, body["stage"], len(body["events"])) == (200, stage, 2)


async def test_the_idle_ones_are_found_oldest_first(bot: Browser, database: Database) -> None:
    newer, older = await post_application(bot), await post_application(bot)
    untouched_since(database, newer, NOW - IDLE - timedelta(days=1), "advice")
    untouched_since(database, older, NOW - IDLE - timedelta(days=30), "ready_to_sign")

    with database.session() as session:
        found = applications.idle_references(session, untouched_since=NOW - IDLE)

    assert found == [older, newer]
