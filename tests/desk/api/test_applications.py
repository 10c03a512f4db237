"""The mortgage application routes: create, read by reference, append to the history."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from desk.services.applications import REFERENCE_PATTERN
from desk.store.database import Database
from desk.store.models import MortgageApplication
from tests.desk.conftest import HANDOFF_SECRET, Browser, post_application
from tests.support.applications import new_application_body

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")


async def test_a_new_application_is_201_with_its_reference_and_history(bot: Browser) -> None:
    status, body = await bot.post("/api/applications", json=new_application_body())

    assert status == 201
    assert REFERENCE_PATTERN.fullmatch(body["reference"])
    assert body["stage"] == "intake"
    # Money comes back exactly as it went, as decimal strings.
    assert (body["property_value"], body["loan_amount"], body["annual_income"]) == (
        "250000.00",
        "200000.00",
        "62500.50",
    )
    assert body["loan_to_value"] == "0.8000"
    assert (body["origin_channel"], body["origin_sender_id"]) == ("rest", "web-applicant")
    started, completed = body["events"]
    assert (started["kind"], completed["kind"]) == ("chat_started", "form_completed")
    assert (completed["touchpoint"], completed["actor_kind"], completed["detail"]) == (
        "web_chat",
        "customer",
        {"origin_channel": "rest"},
    )
    assert datetime.fromisoformat(completed["occurred_at"]).utcoffset() is not None
    assert (body["checklist"], body["appointment"]) == ([], None)


async def test_an_application_is_read_by_its_reference_as_typed(bot: Browser) -> None:
    reference = await post_application(bot)

    status, body = await bot.get(f"/api/applications/{reference.lower().replace('-', '%20')}")

    assert status == 200
    assert body["reference"] == reference


@pytest.mark.parametrize(
    "typed", ["MTG-00000", "MTG-0000U", "ORD-100005", "x" * 500, "%27%3B%20DROP%20TABLE%20x"]
)
async def test_an_unknown_reference_is_404(bot: Browser, typed: str) -> None:
    status, body = await bot.get(f"/api/applications/{typed}")

    assert status == 404
    assert body["error"].startswith("no mortgage application")
    assert len(body["error"]) < 100


async def test_every_touchpoint_appends_to_one_timeline(bot: Browser) -> None:
    reference = await post_application(bot)

    noted = await bot.post(
        f"/api/applications/{reference}/events",
        json={"touchpoint": "web_chat", "kind": "handed_to_advisor", "actor_kind": "bot"},
    )
    status, body = await bot.post(
        f"/api/applications/{reference}/events",
        json={
            "touchpoint": "phone",
            "kind": "note",
            "actor_kind": "agent",
            "actor": "maya",
            "detail": {"text": "Called back"},
        },
    )

    assert noted[0] == 200
    assert status == 200
    assert body["stage"] == "advice"
    assert [(e["touchpoint"], e["kind"], e["actor_kind"]) for e in body["events"][2:]] == [
        ("web_chat", "handed_to_advisor", "bot"),
        ("phone", "note", "agent"),
    ]
    assert body["events"][3]["actor"] == "maya"
    assert body["events"][3]["detail"] == {"text": "Called back"}
    assert (await bot.get(f"/api/applications/{reference}"))[1] == body


@pytest.mark.parametrize("kind", ["signed", "document_accepted", "appointment_booked"])
async def test_steps_the_desk_checks_cannot_be_posted_as_events(bot: Browser, kind: str) -> None:
    reference = await post_application(bot)

    status, body = await bot.post(
        f"/api/applications/{reference}/events", json={"touchpoint": "branch", "kind": kind}
    )

    assert status == 422
    assert "recorded by the desk itself" in body["error"]
    assert len((await bot.get(f"/api/applications/{reference}"))[1]["events"]) == 2


async def test_an_event_for_an_unknown_application_is_404(bot: Browser) -> None:
    status, body = await bot.post(
        "/api/applications/MTG-00000/events", json={"touchpoint": "desk", "kind": "note"}
    )

    assert status == 404
    assert "MTG-00000" in body["error"]


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"touchpoint": "carrier_pigeon", "kind": "note"}, "/touchpoint"),
        ({"touchpoint": "desk", "kind": "approved_by_magic"}, "/kind"),
        ({"touchpoint": "desk", "kind": "note", "detail": "text"}, "/detail"),
        ({"touchpoint": "desk", "kind": "note", "actor": "x" * 256}, "/actor"),
        ({"touchpoint": "desk", "kind": "note", "when": "now"}, "/when"),
        ({"kind": "note"}, "/touchpoint"),
    ],
)
async def test_a_bad_event_is_422_naming_the_field_and_changes_nothing(
    bot: Browser, event: dict[str, Any], field: str
) -> None:
    reference = await post_application(bot)

    status, body = await bot.post(f"/api/applications/{reference}/events", json=event)

    assert status == 422
    assert any(error.startswith(field + ":") for error in body["errors"])
    assert len((await bot.get(f"/api/applications/{reference}"))[1]["events"]) == 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"property_value": 250000.5}, "/intake/property_value"),
        ({"loan_amount": 200000}, "/intake/loan_amount"),
        ({"loan_amount": "300000.00"}, "/intake: loan_amount must be positive and less"),
        ({"loan_amount": "200000.001"}, "/intake/loan_amount"),
        ({"property_value": "1" * 20}, "/intake/property_value"),
        ({"term_years": 10**40}, "/intake/term_years"),
        ({"term_years": True}, "/intake/term_years"),
        ({"currency": "£"}, "/intake/currency"),
        ({"employment_type": ""}, "/intake/employment_type"),
        ({"approved": True}, "/intake/approved"),
    ],
)
async def test_an_intake_that_cannot_be_stored_is_422_and_stores_nothing(
    bot: Browser, database: Database, changes: dict[str, Any], field: str
) -> None:
    status, body = await bot.post("/api/applications", json=new_application_body(**changes))

    assert status == 422, body
    assert any(error.startswith(field) for error in body["errors"]), body
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(MortgageApplication)) == 0


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong", f"Basic {HANDOFF_SECRET}", f"Bearer {HANDOFF_SECRET}x"]
)
async def test_a_missing_or_wrong_secret_is_401_on_every_route(
    bot: Browser, browsers: Callable[..., Browser], authorization: str | None
) -> None:
    reference = await post_application(bot)
    stranger = browsers({} if authorization is None else {"Authorization": authorization})
    event = {"touchpoint": "desk", "kind": "withdrawn"}

    answers = [
        await stranger.post("/api/applications", json=new_application_body()),
        await stranger.get(f"/api/applications/{reference}"),
        await stranger.post(f"/api/applications/{reference}/events", json=event),
    ]

    assert answers == [(401, {"error": "missing or wrong bearer token"})] * 3
    assert (await bot.get(f"/api/applications/{reference}"))[1]["stage"] == "intake"


async def test_an_agents_session_is_not_the_bots_secret(bot: Browser, sam: Browser) -> None:
    reference = await post_application(bot)

    status, _ = await sam.get(f"/api/applications/{reference}")

    assert status == 401


async def test_references_stay_unique_under_concurrent_creation(bot: Browser) -> None:
    created = await asyncio.gather(
        *(bot.post("/api/applications", json=new_application_body()) for _ in range(20))
    )

    assert {status for status, _ in created} == {201}
    references = {body["reference"] for _, body in created}
    assert len(references) == 20
    assert all(re.fullmatch(r"MTG-[0-9A-Z]{5}", reference) for reference in references)
