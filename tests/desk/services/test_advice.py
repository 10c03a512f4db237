"""The advisor's steps on an application: advice outcome, notes, document requests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from contract.applications import ActorKind, AdviceOutcome, ApplicationRecord
from contract.documents import DocumentRequest, RequestedItem
from desk.services import advice, applications
from desk.services.advice import MAX_CASE_NOTE_CHARS
from desk.services.checklists import DocumentChecklists, RequiredDocument
from desk.services.errors import Conflict, InvalidInput
from desk.store.database import Database
from desk.store.models import ApplicationDocument, MortgageApplication
from desk.store.types import utcnow
from tests.support.applications import mortgage_intake

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")

T = TypeVar("T")
Step = Callable[[MortgageApplication], T]


def _create(db: Database, **changes: Any) -> str:
    with db.session(write=True) as session:
        record = applications.create_application(
            session, mortgage_intake(**changes), origin_channel="rest", origin_sender_id="web-1"
        )
    return record.reference


def _change(db: Database, reference: str, step: Step[T]) -> tuple[T, ApplicationRecord]:
    """Run a step in one unit of work, as `change_application` does (nothing kept on error)."""
    with db.session(write=True) as session:
        application = applications.load(session, reference)
        result = step(application)
        session.flush()
        return result, applications.record_of(application)


def _record(db: Database, reference: str) -> ApplicationRecord:
    with db.session() as session:
        return applications.record_of(applications.load(session, reference))


def _ask(items: tuple[RequestedItem, ...] = (), note: str | None = None) -> Step[list[str]]:
    def step(application: MortgageApplication) -> list[str]:
        return advice.request_documents(
            application,
            DocumentRequest(items=items, note=note),
            actor_kind=ActorKind.AGENT,
            actor="Maya",
        )

    return step


def _advise(outcome: AdviceOutcome, note: str | None = None) -> Step[None]:
    def step(application: MortgageApplication) -> None:
        advice.record_advice(application, outcome, note, actor="Maya")

    return step


def _accept_every_item(db: Database, reference: str) -> None:
    """Store an accepted upload for each checklist item, and move to ready to sign."""
    with db.session(write=True) as session:
        application = applications.load(session, reference)
        for requirement in application.checklist:
            application.documents.append(
                ApplicationDocument(
                    item_key=requirement.key,
                    file_name=f"{requirement.key}.pdf",
                    content_type="application/pdf",
                    size_bytes=10,
                    sha256="0" * 64,
                    storage_key=f"{reference}/{requirement.key}",
                    state="accepted",
                    uploaded_at=utcnow(),
                    uploaded_via="web_chat",
                )
            )
        application.stage = "ready_to_sign"


def _book(db: Database, reference: str) -> None:
    with db.session(write=True) as session:
        application = applications.load(session, reference)
        application.stage = "appointment_booked"


# --- Document requests -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("employment_type", "keys"),
    [
        ("employed", ["proof_of_identity", "payslips", "bank_statements", "proof_of_deposit"]),
        ("self_employed", ["proof_of_identity", "accounts", "bank_statements", "proof_of_deposit"]),
        ("other", ["proof_of_identity", "bank_statements", "proof_of_deposit"]),
    ],
)
def test_the_first_request_fixes_the_designers_checklist_for_the_employment_type(
    database: Database, employment_type: str, keys: list[str]
) -> None:
    reference = _create(database, employment_type=employment_type)

    added, record = _change(database, reference, _ask())

    assert added == keys
    assert [item.key for item in record.checklist] == keys
    assert {(item.requested_by, item.state) for item in record.checklist} == {
        ("checklist", "missing")
    }
    assert record.checklist[0].title == "Proof of identity"
    assert record.stage == "documents"
    entry = record.events[-1]
    assert (entry.kind, entry.touchpoint, entry.actor_kind, entry.actor) == (
        "documents_requested",
        "desk",
        "agent",
        "Maya",
    )
    assert entry.detail == {"items": keys, "note": None}


def test_extra_items_follow_the_checklist_with_their_words(database: Database) -> None:
    reference = _create(database)
    items = (
        RequestedItem(key="pension_statement"),
        RequestedItem(key="gift_letter", title="Gift letter", ask="a letter from your parents"),
    )

    added, record = _change(database, reference, _ask(items, note="  the deposit is a gift "))

    assert added[-2:] == ["pension_statement", "gift_letter"]
    pension, gift = record.checklist[-2:]
    assert (pension.title, pension.requested_by) == ("Pension statement", "advisor")
    assert pension.ask.startswith("your latest pension statement")
    assert (gift.title, gift.ask, gift.requested_by) == (
        "Gift letter",
        "a letter from your parents",
        "advisor",
    )
    assert record.events[-1].detail["note"] == "the deposit is a gift"


def test_a_designers_key_keeps_the_designers_words_whatever_the_request_says(
    database: Database,
) -> None:
    reference = _create(database)
    item = RequestedItem(key="accounts", title="<b>Other</b>", ask="something else")

    _, record = _change(database, reference, _ask((item,)))

    accounts = next(i for i in record.checklist if i.key == "accounts")
    assert (accounts.title, accounts.ask) == (
        "2 years of accounts",
        "your business accounts or SA302 tax calculations for the last 2 years",
    )


def test_an_item_already_on_the_checklist_is_not_added_twice(database: Database) -> None:
    reference = _create(database)
    _change(database, reference, _ask())
    items = (RequestedItem(key="payslips"), RequestedItem(key="contract"))

    added, record = _change(database, reference, _ask(items + items))

    assert added == ["contract"]
    keys = [item.key for item in record.checklist]
    assert keys.count("payslips") == 1 and keys.count("contract") == 1
    assert record.events[-1].detail["items"] == ["contract"]
    positions = _positions(database, reference)
    assert positions == sorted(positions) and len(set(positions)) == len(positions)


def _positions(db: Database, reference: str) -> list[int]:
    with db.session() as session:
        return [r.position for r in applications.load(session, reference).checklist]


def test_the_checklist_is_kept_when_the_designers_change_theirs(database: Database) -> None:
    reference = _create(database)
    _change(database, reference, _ask())
    changed = DocumentChecklists(
        documents={"passport": RequiredDocument("passport", "Passport", "your passport")},
        checklists={"employed": ("passport",), "default": ("passport",)},
    )

    def ask_again(application: MortgageApplication) -> list[str]:
        return advice.request_documents(
            application,
            DocumentRequest(),
            actor_kind=ActorKind.BOT,
            actor=None,
            designer_checklists=changed,
        )

    added, record = _change(database, reference, ask_again)

    assert added == []
    assert "passport" not in [item.key for item in record.checklist]
    assert record.events[-1].touchpoint == "web_chat"


def test_a_new_key_without_its_words_is_refused_and_nothing_changes(database: Database) -> None:
    reference = _create(database)
    items = (RequestedItem(key="payslips"), RequestedItem(key="gift_letter", title="Gift letter"))

    with pytest.raises(InvalidInput) as refused:
        _change(database, reference, _ask(items))

    assert refused.value.errors == [
        "/items/1: 'gift_letter' is not one of the designers' documents; give it a title and "
        "the words to ask for it (ask)"
    ]
    record = _record(database, reference)
    assert record.checklist == ()
    assert [e.kind for e in record.events] == ["chat_started", "form_completed"]


@pytest.mark.parametrize("stage", ["appointment_booked", "signed", "withdrawn", "expired"])
def test_documents_cannot_be_requested_once_an_appointment_is_booked_or_later(
    database: Database, stage: str
) -> None:
    reference = _create(database)
    with database.session(write=True) as session:
        applications.load(session, reference).stage = stage

    with pytest.raises(Conflict):
        _change(database, reference, _ask((RequestedItem(key="contract"),)))

    record = _record(database, reference)
    assert (record.stage, record.checklist, len(record.events)) == (stage, (), 2)


def test_a_new_item_when_ready_to_sign_goes_back_to_collecting(database: Database) -> None:
    reference = _create(database)
    _change(database, reference, _ask())
    _accept_every_item(database, reference)

    _, unchanged = _change(database, reference, _ask((RequestedItem(key="payslips"),)))
    assert unchanged.stage == "ready_to_sign"

    _, record = _change(database, reference, _ask((RequestedItem(key="contract"),)))
    assert record.stage == "documents"
    assert record.missing_items[0].key == "contract"


# --- Advice outcome ----------------------------------------------------------------------------


def test_proceed_records_the_outcome_then_asks_for_the_checklist(database: Database) -> None:
    reference = _create(database)

    _, record = _change(database, reference, _advise(AdviceOutcome.PROCEED, " go ahead "))

    outcome, requested = record.events[-2:]
    assert (outcome.kind, outcome.touchpoint, outcome.actor_kind, outcome.actor) == (
        "advice_outcome",
        "desk",
        "agent",
        "Maya",
    )
    assert outcome.detail == {"outcome": "proceed", "note": "go ahead"}
    assert requested.kind == "documents_requested"
    assert record.stage == "documents"
    assert len(record.checklist) == 4
    assert record.checklist[0].key == "proof_of_identity"


def test_more_information_keeps_the_application_in_advice(database: Database) -> None:
    reference = _create(database)

    _, record = _change(database, reference, _advise(AdviceOutcome.MORE_INFORMATION))

    assert record.stage == "advice"
    assert [e.kind for e in record.events][2:] == ["advice_outcome"]
    assert record.events[-1].detail == {"outcome": "more_information", "note": None}
    assert record.checklist == ()


def test_not_proceeding_withdraws_the_application(database: Database) -> None:
    reference = _create(database)

    _, record = _change(database, reference, _advise(AdviceOutcome.NOT_PROCEEDING, "too risky"))

    assert record.stage == "withdrawn"
    assert [e.kind for e in record.events][2:] == ["advice_outcome", "withdrawn"]
    assert record.events[-1].actor == "Maya"


def test_advice_is_refused_once_documents_are_accepted_and_nothing_is_written(
    database: Database,
) -> None:
    reference = _create(database)
    _change(database, reference, _ask())
    _accept_every_item(database, reference)
    before = _record(database, reference)

    with pytest.raises(Conflict):
        _change(database, reference, _advise(AdviceOutcome.PROCEED))

    assert _record(database, reference).events == before.events


def test_a_huge_advice_note_is_refused(database: Database) -> None:
    reference = _create(database)

    with pytest.raises(InvalidInput):
        _change(database, reference, _advise(AdviceOutcome.PROCEED, "x" * 2001))

    assert len(_record(database, reference).events) == 2


# --- Notes -------------------------------------------------------------------------------------


def _note(text: str) -> Step[None]:
    def step(application: MortgageApplication) -> None:
        advice.add_note(application, text, actor="Maya")

    return step


def test_a_note_is_kept_as_typed_trimmed_markup_and_all(database: Database) -> None:
    reference = _create(database)
    text = "<script>alert(1)</script> '; DROP TABLE application_events; --"

    _, record = _change(database, reference, _note(f"  {text}\n"))

    note = record.events[-1]
    assert (note.kind, note.touchpoint, note.actor_kind, note.actor) == (
        "advisor_note",
        "desk",
        "agent",
        "Maya",
    )
    assert note.detail == {"text": text}
    assert record.stage == "intake"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "/text: the note is empty"),
        (" \n\t ", "/text: the note is empty"),
        ("x" * (MAX_CASE_NOTE_CHARS + 1), f"/text: at most {MAX_CASE_NOTE_CHARS} characters"),
    ],
)
def test_an_empty_or_huge_note_is_refused_and_nothing_is_written(
    database: Database, text: str, problem: str
) -> None:
    reference = _create(database)

    with pytest.raises(InvalidInput) as refused:
        _change(database, reference, _note(text))

    assert refused.value.errors == [problem]
    assert len(_record(database, reference).events) == 2


def test_a_note_of_the_longest_length_is_taken(database: Database) -> None:
    reference = _create(database)

    _, record = _change(database, reference, _note("y" * MAX_CASE_NOTE_CHARS))

    assert len(record.events[-1].detail["text"]) == MAX_CASE_NOTE_CHARS
