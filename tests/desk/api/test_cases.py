"""The advisor's case routes, through the real app: who sees a case, the advice outcome,
notes and document requests, and the stage after each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from desk.api.runtime import TASKS
from desk.services import applications
from desk.services.agents import create_agent
from desk.store.database import Database
from desk.store.models import AgentRole, ApplicationDocument
from desk.store.types import utcnow
from tests.desk.conftest import PASSWORD, Browser, post_application, post_handoff
from tests.desk.workflows.test_events_published import record
from tests.support.applications import new_application_body

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")

MORTGAGE_QUEUE = "mortgage_advisors"
EMPLOYED_CHECKLIST = ["proof_of_identity", "payslips", "bank_statements", "proof_of_deposit"]


def add_desk_user(
    database: Database,
    username: str,
    *,
    role: AgentRole = AgentRole.AGENT,
    queues: tuple[str, ...] = (),
    branch: str | None = None,
) -> None:
    """A desk user besides the shared test agents."""
    with database.session(write=True) as session:
        create_agent(
            session,
            username=username,
            display_name=username.title(),
            password=PASSWORD,
            role=role,
            queues=queues,
            branch=branch,
        )


@pytest.fixture
async def maya(browsers: Callable[..., Browser], database: Database, server: TestServer) -> Browser:
    """Maya's browser, logged in: a mortgage advisor."""
    add_desk_user(database, "maya", queues=(MORTGAGE_QUEUE,))
    return await browsers().login("maya")


@pytest.fixture
async def bella(
    browsers: Callable[..., Browser], database: Database, server: TestServer
) -> Browser:
    """Bella's browser, logged in: branch staff at Leeds."""
    add_desk_user(database, "bella", role=AgentRole.BRANCH_STAFF, branch="leeds_park_row")
    return await browsers().login("bella")


def mortgage_context(
    context_factory: Callable[..., dict[str, Any]], reference: str, **routing: Any
) -> dict[str, Any]:
    """A handoff context to the mortgage advisors that names the application."""
    payload = context_factory(queue=MORTGAGE_QUEUE, **routing)
    payload["evidence"]["mortgage_application"] = {
        "reference": reference,
        "status": "advice",
        "currency": "GBP",
    }
    return payload


async def case_of(browser: Browser, reference: str) -> dict[str, Any]:
    """The case view (asserting it is shown), once the desk's background work is done (a
    handoff's hand-over and hand-back are written to the timeline there)."""
    await browser.server.app[TASKS].settle()
    status, body = await browser.get(f"/api/cases/{reference}")
    assert status == 200, body
    return dict(body)


def kinds(record: dict[str, Any]) -> list[str]:
    return [entry["kind"] for entry in record["events"]]


# --- Who may see a case ---------------------------------------------------------------------------


async def test_a_mortgage_advisor_sees_the_whole_case(bot: Browser, maya: Browser) -> None:
    reference = await post_application(bot)

    case = await case_of(maya, reference.lower().replace("-", " "))

    application = case["application"]
    assert application["reference"] == reference
    assert application["stage"] == "intake"
    assert application["loan_amount"] == "200000.00"  # exact, as the applications API sends it
    assert kinds(application) == ["chat_started", "form_completed"]
    assert application["checklist"] == []
    assert application["appointment"] is None
    assert case["documents"] == []
    assert case["actions"] == {
        "can_record_advice": True,
        "can_request_documents": True,
        "can_review_documents": False,
        "can_book": False,
        "can_move_appointment": False,
        "can_cancel_appointment": False,
        "can_add_note": True,
    }


async def test_a_supervisor_sees_the_case(bot: Browser, sam: Browser) -> None:
    reference = await post_application(bot)

    assert (await case_of(sam, reference))["application"]["reference"] == reference


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/cases/{ref}", None),
        ("POST", "/api/cases/{ref}/advice", {"outcome": "proceed"}),
        ("POST", "/api/cases/{ref}/notes", {"text": "hello"}),
        ("POST", "/api/cases/{ref}/document-requests", {"items": []}),
        ("GET", "/api/case-documents", None),
    ],
)
async def test_an_order_agent_and_branch_staff_are_told_there_is_no_such_case(
    bot: Browser,
    olivia: Browser,
    bella: Browser,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    reference = await post_application(bot)

    for outsider in (olivia, bella):
        status, answer = await outsider.request(method, path.format(ref=reference), json=body)
        assert status == 404, answer
        assert "error" in answer

    status, record = await bot.get(f"/api/applications/{reference}")
    assert kinds(record) == ["chat_started", "form_completed"]  # nothing was written


async def test_no_case_for_an_unknown_or_malformed_reference(maya: Browser) -> None:
    for reference in ("MTG-ZZZZZ", "not-a-reference", "..%2F..%2Fetc"):
        status, body = await maya.get(f"/api/cases/{reference}")
        assert status == 404, body


async def test_the_case_needs_a_login(bot: Browser, anonymous: Browser) -> None:
    reference = await post_application(bot)

    status, _ = await anonymous.get(f"/api/cases/{reference}")

    assert status == 401


# --- Advice outcomes ----------------------------------------------------------------------------


async def test_proceed_moves_to_documents_with_the_checklist(bot: Browser, maya: Browser) -> None:
    reference = await post_application(bot)

    status, record = await maya.post(
        f"/api/cases/{reference}/advice", json={"outcome": "proceed", "note": "Fixed 5 years"}
    )

    assert status == 200, record
    assert record["stage"] == "documents"
    assert kinds(record)[2:] == ["advice_outcome", "documents_requested"]
    outcome = record["events"][2]
    assert (outcome["touchpoint"], outcome["actor_kind"], outcome["actor"]) == (
        "desk",
        "agent",
        "Maya",
    )
    assert outcome["detail"] == {"outcome": "proceed", "note": "Fixed 5 years"}
    assert [item["key"] for item in record["checklist"]] == EMPLOYED_CHECKLIST
    assert {item["state"] for item in record["checklist"]} == {"missing"}
    case = await case_of(maya, reference)
    assert case["actions"]["can_record_advice"] is True
    assert case["actions"]["can_review_documents"] is True


async def test_more_information_keeps_the_advice_open(bot: Browser, maya: Browser) -> None:
    reference = await post_application(bot)

    status, record = await maya.post(
        f"/api/cases/{reference}/advice", json={"outcome": "more_information"}
    )

    assert status == 200, record
    assert record["stage"] == "advice"
    assert record["checklist"] == []


async def test_not_proceeding_withdraws_and_closes_the_case(bot: Browser, maya: Browser) -> None:
    reference = await post_application(bot)

    status, record = await maya.post(
        f"/api/cases/{reference}/advice", json={"outcome": "not_proceeding"}
    )

    assert status == 200, record
    assert record["stage"] == "withdrawn"
    assert kinds(record)[-2:] == ["advice_outcome", "withdrawn"]
    status, again = await maya.post(f"/api/cases/{reference}/advice", json={"outcome": "proceed"})
    assert status == 409, again
    assert "withdrawn" in again["error"]
    actions = (await case_of(maya, reference))["actions"]
    assert actions["can_record_advice"] is False
    assert actions["can_request_documents"] is False
    assert actions["can_add_note"] is True


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"outcome": "maybe"},
        {"outcome": "proceed", "note": "x" * 2001},
        {"outcome": "proceed", "extra": 1},
        {"outcome": "proceed", "note": 5},
    ],
)
async def test_a_broken_advice_is_refused_and_nothing_is_written(
    bot: Browser, maya: Browser, body: dict[str, Any]
) -> None:
    reference = await post_application(bot)

    status, answer = await maya.post(f"/api/cases/{reference}/advice", json=body)

    assert status == 422, answer
    assert answer["error"]
    assert kinds((await case_of(maya, reference))["application"]) == [
        "chat_started",
        "form_completed",
    ]


# --- Document requests --------------------------------------------------------------------------


async def test_a_request_fixes_the_checklist_by_employment_type_and_adds_extras(
    bot: Browser, maya: Browser
) -> None:
    status, created = await bot.post(
        "/api/applications", json=new_application_body(employment_type="self_employed")
    )
    assert status == 201, created
    reference = created["reference"]
    body = {
        "items": [
            {"key": "pension_statement"},
            {"key": "gift_letter", "title": "Gift letter", "ask": "a letter from the giver"},
        ],
        "note": "Deposit is partly a gift",
    }

    status, record = await maya.post(f"/api/cases/{reference}/document-requests", json=body)

    assert status == 200, record
    assert [item["key"] for item in record["checklist"]] == [
        "proof_of_identity",
        "accounts",
        "bank_statements",
        "proof_of_deposit",
        "pension_statement",
        "gift_letter",
    ]
    assert [item["requested_by"] for item in record["checklist"]][-3:] == [
        "checklist",
        "advisor",
        "advisor",
    ]
    assert record["events"][-1]["detail"]["note"] == "Deposit is partly a gift"
    assert record["stage"] == "documents"


async def test_items_already_requested_are_not_added_twice(bot: Browser, maya: Browser) -> None:
    reference = await post_application(bot)
    path = f"/api/cases/{reference}/document-requests"
    await maya.post(path, json={"items": [{"key": "contract"}]})

    status, record = await maya.post(
        path, json={"items": [{"key": "contract"}, {"key": "payslips"}]}
    )

    assert status == 200, record
    keys = [item["key"] for item in record["checklist"]]
    assert keys == [*EMPLOYED_CHECKLIST, "contract"]
    assert record["events"][-1]["detail"]["items"] == []


@pytest.mark.parametrize(
    ("items", "problem"),
    [
        ([{"key": "gift_letter"}], "/items/0: 'gift_letter' is not one of the designers'"),
        ([{"key": "../etc/passwd"}], "/items/0/key"),
        ([{"key": "Payslips"}], "/items/0/key"),
        ([{"key": "contract"}] * 21, "/items"),
        ([{"key": "gift_letter", "title": "", "ask": "x"}], "/items/0/title"),
    ],
)
async def test_a_broken_document_request_is_refused_and_nothing_is_written(
    bot: Browser, maya: Browser, items: list[dict[str, Any]], problem: str
) -> None:
    reference = await post_application(bot)

    status, answer = await maya.post(
        f"/api/cases/{reference}/document-requests", json={"items": items}
    )

    assert status == 422, answer
    assert any(error.startswith(problem) for error in answer["errors"]), answer
    application = (await case_of(maya, reference))["application"]
    assert (application["checklist"], application["stage"]) == ([], "intake")


async def test_documents_cannot_be_requested_once_an_appointment_is_booked(
    bot: Browser, maya: Browser, database: Database
) -> None:
    reference = await post_application(bot)
    await maya.post(f"/api/cases/{reference}/advice", json={"outcome": "proceed"})
    _set_stage(database, reference, "appointment_booked")

    status, answer = await maya.post(
        f"/api/cases/{reference}/document-requests", json={"items": [{"key": "contract"}]}
    )

    assert status == 409, answer
    assert "appointment booked" in answer["error"]
    case = await case_of(maya, reference)
    assert "contract" not in [item["key"] for item in case["application"]["checklist"]]
    assert case["actions"]["can_request_documents"] is False
    assert case["actions"]["can_move_appointment"] is True


def _set_stage(database: Database, reference: str, stage: str) -> None:
    with database.session(write=True) as session:
        applications.load(session, reference).stage = stage


async def test_the_designers_documents_for_the_picker(maya: Browser) -> None:
    status, body = await maya.get("/api/case-documents")

    assert status == 200, body
    documents = body["documents"]
    assert documents[0] == {"key": "proof_of_identity", "title": "Proof of identity"}
    assert {"key": "accounts", "title": "2 years of accounts"} in documents


# --- Notes ---------------------------------------------------------------------------------------


async def test_a_note_is_added_as_typed_markup_and_all(bot: Browser, maya: Browser) -> None:
    reference = await post_application(bot)
    text = '<img src=x onerror="alert(1)"> Robert\'); DROP TABLE agents;--'

    status, record = await maya.post(f"/api/cases/{reference}/notes", json={"text": f" {text} "})

    assert status == 201, record
    note = record["events"][-1]
    assert (note["kind"], note["actor"], note["detail"]) == ("advisor_note", "Maya", {"text": text})
    assert record["stage"] == "intake"


@pytest.mark.parametrize("text", ["", "   \n", "x" * 2001])
async def test_an_empty_or_huge_note_is_refused(bot: Browser, maya: Browser, text: str) -> None:
    reference = await post_application(bot)

    status, answer = await maya.post(f"/api/cases/{reference}/notes", json={"text": text})

    assert status == 422, answer
    assert len((await case_of(maya, reference))["application"]["events"]) == 2


async def test_a_note_that_is_not_json_is_refused(bot: Browser, maya: Browser) -> None:
    reference = await post_application(bot)

    status, answer = await maya.post(
        f"/api/cases/{reference}/notes",
        data=b'{"text": "unterminated',
        headers={"Content-Type": "application/json"},
    )

    assert status == 400, answer
    assert len((await case_of(maya, reference))["application"]["events"]) == 2


# --- The case in a mortgage handoff -------------------------------------------------------------


async def test_an_advisor_resolving_sets_the_next_step_and_a_bogus_one_is_refused(
    bot: Browser,
    maya: Browser,
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    reference = await post_application(bot)
    handoff_id = await post_handoff(bot, mortgage_context(context_factory, reference))
    status, body = await maya.post(f"/api/handoffs/{handoff_id}/claim")
    assert status == 200, body
    path = f"/api/handoffs/{handoff_id}/resolve"

    status, refused = await maya.post(
        path, json={"disposition": "resolved", "slots": {"mortgage_next_step": "sign_now"}}
    )
    assert status == 422, refused
    assert "mortgage_next_step" in refused["error"]

    status, resolved = await maya.post(
        path,
        json={"disposition": "resolved", "slots": {"mortgage_next_step": "collect_documents"}},
    )
    assert status == 200, resolved
    handed_back = (await case_of(maya, reference))["application"]["events"][-1]
    assert handed_back["kind"] == "handed_back"
    assert handed_back["detail"] == {"handoff_id": handoff_id, "next_step": "collect_documents"}


async def test_the_case_lists_each_upload_with_its_review(
    bot: Browser, maya: Browser, database: Database
) -> None:
    reference = await post_application(bot)
    await maya.post(f"/api/cases/{reference}/advice", json={"outcome": "proceed"})
    _upload(database, reference, "payslips", state="rejected", reason="Only 2 of the 3 months")
    _upload(database, reference, "payslips", state="uploaded")

    case = await case_of(maya, reference)

    first, second = case["documents"]
    assert (first["item"], first["state"], first["rejection_reason"]) == (
        "payslips",
        "rejected",
        "Only 2 of the 3 months",
    )
    assert first["reviewed_by"] == "Maya"
    assert (second["state"], second["file_name"], second["size_bytes"]) == (
        "uploaded",
        "payslips.pdf",
        2048,
    )
    payslips = next(i for i in case["application"]["checklist"] if i["key"] == "payslips")
    assert (payslips["state"], payslips["document_id"]) == ("uploaded", second["id"])
    assert case["actions"]["can_review_documents"] is True


def _upload(
    database: Database, reference: str, item: str, *, state: str, reason: str | None = None
) -> None:
    """A stored upload, as the documents part writes it."""
    with database.session(write=True) as session:
        application = applications.load(session, reference)
        count = len(application.documents)
        application.documents.append(
            ApplicationDocument(
                item_key=item,
                file_name=f"{item}.pdf",
                content_type="application/pdf",
                size_bytes=2048,
                sha256="a" * 64,
                storage_key=f"{reference}/{item}-{count}",
                state=state,
                uploaded_at=utcnow(),
                uploaded_via="web_chat",
                reviewed_by="Maya" if reason else None,
                reviewed_at=utcnow() if reason else None,
                rejection_reason=reason,
            )
        )


async def test_each_entry_of_a_step_is_published_and_a_refused_step_publishes_nothing(
    server: TestServer, bot: Browser, maya: Browser
) -> None:
    reference = await post_application(bot)
    published = record(server)

    await maya.post(f"/api/cases/{reference}/advice", json={"outcome": "proceed"})
    await maya.post(f"/api/cases/{reference}/notes", json={"text": ""})

    assert [(e.NAME.value, e.payload()["kind"], e.payload()["stage"]) for e in published] == [
        # The stage is the application's once the step is done.
        ("application.event_recorded", "advice_outcome", "documents"),
        ("application.event_recorded", "documents_requested", "documents"),
    ]
