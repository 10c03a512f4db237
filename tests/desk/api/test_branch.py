"""The branch's routes (desk/api/branch.py) and page (desk/api/pages.py) through the real app:
only branch staff, only their own branch, each step in order, and nothing of the console."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta, timezone
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from contract.applications import ApplicationStage
from desk.services.agents import Actor
from desk.services.branches import branches
from desk.store.database import Database
from desk.store.models import ApplicationEvent, BranchAppointment
from tests.desk.conftest import PASSWORD, Browser, post_handoff
from tests.desk.workflows.test_events_published import record
from tests.support.mortgage_cases import add_case_people, application_at

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")

LEEDS = branches()["leeds_park_row"]
PASSPORT = {"document": "passport", "matches": True}


@pytest.fixture
def people(database: Database, actors: dict[str, Actor]) -> dict[str, Actor]:
    """Bea (Leeds), Ravi (Manchester) and Maya (an advisor), next to the conftest's agents."""
    return {**actors, **add_case_people(database, PASSWORD)}


@pytest.fixture
async def bea(browsers: Callable[..., Browser], people: dict[str, Actor]) -> Browser:
    """Bea's browser, logged in (branch staff at Leeds, Park Row)."""
    return await browsers().login("bea")


@pytest.fixture
async def ravi(browsers: Callable[..., Browser], people: dict[str, Actor]) -> Browser:
    """Ravi's browser, logged in (branch staff at Manchester, King Street)."""
    return await browsers().login("ravi")


@pytest.fixture
async def maya(browsers: Callable[..., Browser], people: dict[str, Actor]) -> Browser:
    """Maya's browser, logged in (a mortgage advisor)."""
    return await browsers().login("maya")


def booked(
    database: Database, starts_at: datetime | None = None, **options: Any
) -> tuple[int, str]:
    """A case with a booked appointment (at Leeds unless told); its appointment id and reference."""
    with database.session(write=True) as session:
        application = application_at(
            session, ApplicationStage.APPOINTMENT_BOOKED, starts_at=starts_at, **options
        )
        return application.appointments[0].id, application.reference


def started() -> datetime:
    """A start a quarter of an hour ago."""
    return datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=15)


def timeline_length(database: Database) -> int:
    with database.session() as session:
        return session.query(ApplicationEvent).count()


def appointment_states(database: Database) -> list[str]:
    with database.session() as session:
        return [a.state for a in session.query(BranchAppointment).order_by(BranchAppointment.id)]


def steps(appointment_id: int | str) -> list[tuple[str, dict[str, Any] | None]]:
    """Each step's path at the appointment, with a body it would take."""
    at = f"/api/branch/appointments/{appointment_id}"
    return [(f"{at}/identity-check", PASSPORT), (f"{at}/signing", None), (f"{at}/missed", None)]


# --- The day -----------------------------------------------------------------------------------


async def test_the_day_lists_the_branchs_appointments_with_each_case(
    bea: Browser, database: Database
) -> None:
    appointment_id, reference = booked(
        database, datetime(2026, 12, 3, 13, 0, tzinfo=timezone.utc), applicant_name="Ann Lee"
    )
    booked(
        database, datetime(2026, 12, 3, 13, 0, tzinfo=timezone.utc), branch="manchester_king_street"
    )

    status, body = await bea.get("/api/branch/appointments", params={"date": "2026-12-03"})

    assert status == 200, body
    assert (body["branch"], body["branch_name"], body["timezone"], body["date"]) == (
        "leeds_park_row",
        "Leeds, Park Row",
        "Europe/London",
        "2026-12-03",
    )
    (entry,) = body["appointments"]
    assert {key: entry[key] for key in entry if key != "appointment"} == {
        "reference": reference,
        "applicant_name": "Ann Lee",
        "stage": "appointment_booked",
        "documents_accepted": 4,
        "documents_required": 4,
    }
    assert entry["appointment"]["id"] == appointment_id
    assert entry["appointment"]["label"] == "Thu 3 Dec, 13:00"
    assert entry["appointment"]["state"] == "booked"


async def test_the_day_is_today_at_the_branch_by_default(bea: Browser, database: Database) -> None:
    today = datetime.now(LEEDS.zone).date()
    noon = datetime.combine(today, time(12), tzinfo=LEEDS.zone).astimezone(timezone.utc)
    appointment_id, _ = booked(database, noon)
    booked(database, noon + timedelta(days=1))

    status, body = await bea.get("/api/branch/appointments")

    assert status == 200, body
    assert body["date"] == today.isoformat()
    assert [e["appointment"]["id"] for e in body["appointments"]] == [appointment_id]


@pytest.mark.parametrize(
    "typed", ["2026-13-01", "03/12/2026", "yesterday", "", "2026-12-03' OR 1=1 --", "<b>x</b>"]
)
async def test_a_date_that_is_not_one_is_refused(bea: Browser, typed: str) -> None:
    status, body = await bea.get("/api/branch/appointments", params={"date": typed})

    assert status == 422, body
    assert body["error"].startswith("/date: ")
    assert "YYYY-MM-DD" in body["error"]


# --- The case ----------------------------------------------------------------------------------


async def test_the_case_has_the_record_the_timeline_and_the_documents(
    bea: Browser, database: Database
) -> None:
    appointment_id, reference = booked(database)

    status, body = await bea.get(f"/api/branch/cases/{reference.lower()}")

    assert status == 200, body
    application = body["application"]
    assert (application["reference"], application["stage"]) == (reference, "appointment_booked")
    assert application["loan_amount"] == "200000.00"  # exact, as the contract sends it
    assert application["appointment"]["id"] == appointment_id
    assert [e["kind"] for e in application["events"]][-3:] == [
        "document_uploaded",
        "document_accepted",
        "appointment_booked",
    ]
    assert [item["state"] for item in application["checklist"]] == ["accepted"] * 4
    uploaded = {entry["document"]["item"]: entry for entry in body["documents"]}
    assert set(uploaded) == {item["key"] for item in application["checklist"]}
    first = uploaded["proof_of_identity"]
    assert first["view_url"] == f"/api/documents/{first['document']['id']}/content"
    assert first["download_url"] == first["view_url"] + "?download=1"
    assert body["identity_matched"] is None


async def test_another_branchs_case_is_not_found(
    bea: Browser, ravi: Browser, database: Database
) -> None:
    _, reference = booked(database, branch="manchester_king_street")

    assert (await ravi.get(f"/api/branch/cases/{reference}"))[0] == 200
    for path in [
        f"/api/branch/cases/{reference}",
        "/api/branch/cases/MTG-00000",
        "/api/branch/cases/..%2F..%2Fapi%2Fqueues",
        "/api/branch/cases/" + "x" * 300,
    ]:
        status, body = await bea.get(path)
        assert status == 404, (path, body)
        assert len(body["error"]) < 120


# --- The steps ---------------------------------------------------------------------------------


async def test_identity_then_signing_signs_and_each_entry_names_the_staff_member(
    server: TestServer, bea: Browser, database: Database
) -> None:
    appointment_id, reference = booked(database)
    published = record(server)
    at = f"/api/branch/appointments/{appointment_id}"

    status, body = await bea.post(f"{at}/identity-check", json={**PASSPORT, "note": "Checked"})
    assert status == 200, body
    assert body["stage"] == "appointment_booked"
    assert body["appointment"]["identity_checked_by"] == "Bea"
    status, case = await bea.get(f"/api/branch/cases/{reference}")
    assert case["identity_matched"] is True

    status, body = await bea.post(f"{at}/signing")

    assert status == 200, body
    assert body["stage"] == "signed"
    assert body["appointment"]["state"] == "signed"
    assert [
        (e["kind"], e["touchpoint"], e["actor_kind"], e["actor"]) for e in body["events"][-2:]
    ] == [
        ("identity_checked", "branch", "branch_staff", "Bea"),
        ("signed", "branch", "branch_staff", "Bea"),
    ]
    assert body["events"][-2]["detail"] == {
        "appointment_id": appointment_id,
        "branch": "leeds_park_row",
        "document": "passport",
        "matches": True,
        "note": "Checked",
    }
    assert [(e.payload()["kind"], e.payload()["stage"]) for e in published] == [
        ("identity_checked", "appointment_booked"),
        ("signed", "signed"),
    ]


async def test_signing_before_the_identity_check_is_a_conflict(
    bea: Browser, database: Database
) -> None:
    appointment_id, _ = booked(database)
    before = timeline_length(database)

    status, body = await bea.post(f"/api/branch/appointments/{appointment_id}/signing")

    assert (status, body["error"]) == (
        409,
        "check identity first: the customer's identity was not checked yet",
    )
    assert timeline_length(database) == before
    assert appointment_states(database) == ["booked"]


async def test_a_mismatch_is_recorded_and_blocks_the_signing(
    bea: Browser, database: Database
) -> None:
    appointment_id, reference = booked(database)
    at = f"/api/branch/appointments/{appointment_id}"

    status, body = await bea.post(
        f"{at}/identity-check", json={"document": "national_id", "matches": False}
    )
    assert status == 200, body
    assert body["events"][-1]["detail"]["matches"] is False

    status, body = await bea.post(f"{at}/signing")

    assert status == 409
    assert "did not match" in body["error"]
    status, case = await bea.get(f"/api/branch/cases/{reference}")
    assert (case["application"]["stage"], case["identity_matched"]) == (
        "appointment_booked",
        False,
    )


async def test_missed_only_once_the_appointment_has_started(
    bea: Browser, database: Database
) -> None:
    later, _ = booked(database, datetime.now(timezone.utc) + timedelta(hours=2))
    now, _ = booked(database, started())

    status, body = await bea.post(f"/api/branch/appointments/{later}/missed")
    assert status == 409
    assert "only once it has started" in body["error"]

    status, body = await bea.post(f"/api/branch/appointments/{now}/missed")
    assert status == 200, body
    assert (body["stage"], body["appointment"]["state"]) == ("ready_to_sign", "missed")
    assert body["events"][-1]["kind"] == "appointment_missed"
    assert body["events"][-1]["actor"] == "Bea"
    assert appointment_states(database) == ["booked", "missed"]


async def test_another_branchs_appointment_is_not_found(ravi: Browser, database: Database) -> None:
    appointment_id, _ = booked(database, started())
    before = timeline_length(database)

    for path, body in steps(appointment_id) + steps(99999):
        status, answer = await ravi.post(path, json=body)
        assert status == 404, (path, answer)

    assert timeline_length(database) == before
    assert appointment_states(database) == ["booked"]


@pytest.mark.parametrize("typed", ["abc", "0", "-1", "1.5", "12345678901234567890", "1%3B1"])
async def test_an_id_that_cannot_be_one_is_not_found(bea: Browser, typed: str) -> None:
    for path, body in steps(typed):
        status, answer = await bea.post(path, json=body)
        assert status == 404, (path, answer)


@pytest.mark.parametrize(
    "body",
    [
        {"document": "<script>alert(1)</script>", "matches": True},
        {"document": "passport", "matches": "yes"},
        {"document": "passport"},
        {"document": "passport", "matches": True, "note": "x" * 501},
        {"document": "passport", "matches": True, "signed": True},
        [["document", "passport"], ["matches", True]],
        "passport",
    ],
)
async def test_a_bad_identity_check_is_refused_and_nothing_is_written(
    bea: Browser, database: Database, body: Any
) -> None:
    appointment_id, _ = booked(database)
    before = timeline_length(database)

    status, answer = await bea.post(
        f"/api/branch/appointments/{appointment_id}/identity-check", json=body
    )

    assert status == 422, answer
    assert answer["error"]
    assert timeline_length(database) == before


async def test_a_body_that_is_not_json_is_refused(bea: Browser, database: Database) -> None:
    appointment_id, _ = booked(database)

    status, answer = await bea.post(
        f"/api/branch/appointments/{appointment_id}/identity-check",
        data=b"{'document': passport",
        headers={"Content-Type": "application/json"},
    )

    assert status == 400, answer
    assert appointment_states(database) == ["booked"]
    with database.session() as session:
        kinds = [e.kind for e in session.query(ApplicationEvent)]
    assert "identity_checked" not in kinds


# --- Who may -----------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["olivia", "maya", "sam"])
async def test_only_branch_staff_use_the_branch_routes(
    browsers: Callable[..., Browser],
    people: dict[str, Actor],
    database: Database,
    username: str,
) -> None:
    user = await browsers().login(username)
    appointment_id, reference = booked(database, started())
    before = timeline_length(database)

    for path in ["/api/branch/appointments", f"/api/branch/cases/{reference}"]:
        status, body = await user.get(path)
        assert (status, body) == (403, {"error": "only branch staff use the branch desk"}), path
    for path, body in steps(appointment_id):
        status, answer = await user.post(path, json=body)
        assert status == 403, (path, answer)

    assert timeline_length(database) == before
    assert appointment_states(database) == ["booked"]


async def test_nobody_logged_in_gets_nothing(anonymous: Browser, database: Database) -> None:
    appointment_id, reference = booked(database)

    assert (await anonymous.get("/api/branch/appointments"))[0] == 401
    assert (await anonymous.get(f"/api/branch/cases/{reference}"))[0] == 401
    for path, body in steps(appointment_id):
        assert (await anonymous.post(path, json=body))[0] == 401


async def test_branch_staff_see_nothing_of_the_console(
    bea: Browser, bot: Browser, sam: Browser, context_factory: Callable[..., dict[str, Any]]
) -> None:
    handoff_id = await post_handoff(bot, context_factory(queue="mortgage_advisors"))

    status, body = await bea.get("/api/queues")
    assert (status, body) == (200, {"queues": []})
    status, body = await bea.get("/api/console-config")
    assert (status, body) == (403, {"error": "branch staff use the branch page, not the console"})
    status, body = await bea.get("/api/my-handoffs")
    assert status == 200
    assert body["handoffs"] == []
    for path in [f"/api/handoffs/{handoff_id}", f"/api/handoffs/{handoff_id}/conversation"]:
        assert (await bea.get(path))[0] == 404, path
    status, body = await bea.post(f"/api/handoffs/{handoff_id}/claim")
    assert (status, body) == (404, {"error": f"no handoff {handoff_id}"})  # hidden from them
    status, body = await sam.get(f"/api/handoffs/{handoff_id}")
    assert body["handoff"]["status"] == "queued"  # still waiting for an advisor


# --- The page ----------------------------------------------------------------------------------


async def test_the_branch_page_is_for_branch_staff_only(
    bea: Browser, olivia: Browser, anonymous: Browser
) -> None:
    page = await bea.raw("GET", "/branch")
    assert (page.status, page.content_type) == (200, "text/html")
    text = await page.text()
    assert '<script type="module" src="/static/branch.js"></script>' in text
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "connect-src 'self';" in policy
    for name, content_type in [("branch.js", "text/javascript"), ("branch.css", "text/css")]:
        response = await anonymous.raw("GET", f"/static/{name}")
        assert (response.status, response.content_type) == (200, content_type), name

    to_console = await olivia.raw("GET", "/branch", allow_redirects=False)
    assert (to_console.status, to_console.headers["Location"]) == (302, "/console")
    to_branch = await bea.raw("GET", "/console", allow_redirects=False)
    assert (to_branch.status, to_branch.headers["Location"]) == (302, "/branch")
    to_login = await anonymous.raw("GET", "/branch", allow_redirects=False)
    assert (to_login.status, to_login.headers["Location"]) == (302, "/login")


async def test_logging_in_tells_the_page_the_role(
    browsers: Callable[..., Browser], people: dict[str, Actor]
) -> None:
    status, body = await browsers().post(
        "/api/login", json={"username": "bea", "password": PASSWORD}
    )

    assert (status, body["role"]) == (200, "branch_staff")
