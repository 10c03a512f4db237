"""What the application workflows publish on the event bus, through the real app
(`desk.workflows.applications`)."""

from __future__ import annotations

from datetime import datetime

import pytest
from aiohttp.test_utils import TestServer

from desk.events import MASK
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
