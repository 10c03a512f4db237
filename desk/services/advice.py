"""The advisor's steps on a mortgage application: the advice outcome, notes, and asking for
documents.

Each function is a step of a unit of work on a loaded application (run it through
`desk.workflows.applications.change_application`, which publishes every entry it appends).
A step checks everything first and raises before it changes anything: a `Conflict` when the
stage table does not allow it (`desk.services.application_stages`), an `InvalidInput` for bad
words.

The checklist of an application is fixed the first time documents are requested, from the
designers' checklist for its employment type (`desk.services.checklists`); a later edit of
that file does not change an application under way. An advisor may add items: a document the
designers defined (its title and words come from there) or a new one with its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from contract.applications import (
    ActorKind,
    AdviceOutcome,
    ApplicationEventKind,
    ApplicationStage,
    Touchpoint,
)
from contract.documents import DocumentRequest, DocumentState, RequestedBy, RequestedItem
from desk.services.application_stages import stage_after
from desk.services.applications import append_entry, latest_documents
from desk.services.checklists import DocumentChecklists, document_checklists
from desk.services.errors import InvalidInput
from desk.store.models import ChecklistRequirement, MortgageApplication
from desk.store.types import utcnow

#: The longest advisor note, and the longest note with an advice outcome.
MAX_CASE_NOTE_CHARS: Final = 2000

#: Where an actor of each kind acts on an application, when the step does not say.
_TOUCHPOINT_OF: Final = {
    ActorKind.CUSTOMER: Touchpoint.WEB_CHAT,
    ActorKind.BOT: Touchpoint.WEB_CHAT,
    ActorKind.AGENT: Touchpoint.DESK,
    ActorKind.BRANCH_STAFF: Touchpoint.BRANCH,
    ActorKind.SYSTEM: Touchpoint.SYSTEM,
}


@dataclass(frozen=True)
class _Wanted:
    """One checklist item about to be added."""

    key: str
    title: str
    ask: str
    requested_by: RequestedBy


def request_documents(
    application: MortgageApplication,
    request: DocumentRequest,
    *,
    actor_kind: ActorKind,
    actor: str | None,
    designer_checklists: DocumentChecklists | None = None,
    touchpoint: Touchpoint | None = None,
) -> list[str]:
    """Ask for documents: the first time, fix the checklist for the employment type; add the
    requested items not on it yet; append one `documents_requested` entry.

    Args:
        application: The loaded application.
        request: Extra items (none: only the employment type's checklist) and a note.
        actor_kind: Who asks (an advisor: agent; the bot when the customer goes on).
        actor: Their name as the timeline shows it.
        designer_checklists: The designers' documents and checklists (the shipped ones).
        touchpoint: Where; by default the actor kind's own (desk for an agent).

    Returns:
        The keys added to the checklist, in asking order (empty when all were on it).

    Raises:
        Conflict: Documents cannot be requested at this stage (an appointment is booked, or
            the application is signed, withdrawn or expired); nothing changes.
        InvalidInput: A new item without its title or words; nothing changes.
    """
    designers = designer_checklists or document_checklists()
    stage_after(application.stage, ApplicationEventKind.DOCUMENTS_REQUESTED)  # refuse first
    extra = _requested(request.items, designers)
    wanted: list[_Wanted] = []
    if not application.checklist:
        wanted += [
            _Wanted(document.key, document.title, document.ask, RequestedBy.CHECKLIST)
            for document in designers.for_employment(application.employment_type)
        ]
    wanted += extra
    added = _add_to_checklist(application, wanted)
    append_entry(
        application,
        ApplicationEventKind.DOCUMENTS_REQUESTED,
        touchpoint=touchpoint or _TOUCHPOINT_OF[actor_kind],
        actor_kind=actor_kind,
        actor=actor,
        detail={"items": added, "note": _optional_text(request.note)},
        stage=_stage_after_request(application, added),
    )
    return added


def record_advice(
    application: MortgageApplication,
    outcome: AdviceOutcome,
    note: str | None,
    *,
    actor: str,
    designer_checklists: DocumentChecklists | None = None,
) -> None:
    """Record the advisor's outcome; go on to the documents (proceed) or withdraw the
    application (not proceeding). "More information" changes nothing else.

    Raises:
        Conflict: The advice is no longer open (documents accepted, an appointment, an
            exit); nothing changes.
        InvalidInput: The note is longer than MAX_CASE_NOTE_CHARS.
    """
    text = _optional_text(note, field="/note")
    # Check every entry the outcome leads to before appending the first one.
    stage = stage_after(application.stage, ApplicationEventKind.ADVICE_OUTCOME)
    if outcome is AdviceOutcome.PROCEED:
        stage_after(stage, ApplicationEventKind.DOCUMENTS_REQUESTED)
    append_entry(
        application,
        ApplicationEventKind.ADVICE_OUTCOME,
        touchpoint=Touchpoint.DESK,
        actor_kind=ActorKind.AGENT,
        actor=actor,
        detail={"outcome": outcome.value, "note": text},
    )
    if outcome is AdviceOutcome.PROCEED:
        request_documents(
            application,
            DocumentRequest(),
            actor_kind=ActorKind.AGENT,
            actor=actor,
            designer_checklists=designer_checklists,
        )
    elif outcome is AdviceOutcome.NOT_PROCEEDING:
        append_entry(
            application,
            ApplicationEventKind.WITHDRAWN,
            touchpoint=Touchpoint.DESK,
            actor_kind=ActorKind.AGENT,
            actor=actor,
            detail={"reason": "advice_not_proceeding"},
        )


def add_note(application: MortgageApplication, text: str, *, actor: str) -> None:
    """Append an advisor's note (1 to MAX_CASE_NOTE_CHARS characters once trimmed).

    Raises:
        InvalidInput: The note is empty, only spaces, or too long; nothing is appended.
    """
    note = _optional_text(text, field="/text")
    if note is None:
        raise InvalidInput(["/text: the note is empty"])
    append_entry(
        application,
        ApplicationEventKind.ADVISOR_NOTE,
        touchpoint=Touchpoint.DESK,
        actor_kind=ActorKind.AGENT,
        actor=actor,
        detail={"text": note},
    )


def _requested(items: Sequence[RequestedItem], designers: DocumentChecklists) -> list[_Wanted]:
    """The items asked for with their words: the designers' for a known key, the request's
    for a new one (InvalidInput naming each item that lacks them)."""
    wanted, problems = [], []
    for index, item in enumerate(items):
        known = designers.documents.get(item.key)
        if known is not None:
            wanted.append(_Wanted(known.key, known.title, known.ask, RequestedBy.ADVISOR))
            continue
        title = (item.title or "").strip()
        ask = (item.ask or "").strip()
        if not title or not ask:
            problems.append(
                f"/items/{index}: {item.key!r} is not one of the designers' documents; "
                "give it a title and the words to ask for it (ask)"
            )
            continue
        wanted.append(_Wanted(item.key, title, ask, RequestedBy.ADVISOR))
    if problems:
        raise InvalidInput(problems)
    return wanted


def _add_to_checklist(application: MortgageApplication, wanted: Sequence[_Wanted]) -> list[str]:
    """Add the items not on the checklist yet, after the last one; their keys."""
    present = {requirement.key for requirement in application.checklist}
    position = max((requirement.position for requirement in application.checklist), default=-1)
    now = utcnow()
    added = []
    for item in wanted:
        if item.key in present:
            continue
        position += 1
        present.add(item.key)
        application.checklist.append(
            ChecklistRequirement(
                key=item.key,
                title=item.title,
                ask=item.ask,
                requested_by=item.requested_by.value,
                position=position,
                requested_at=now,
            )
        )
        added.append(item.key)
    return added


def _stage_after_request(application: MortgageApplication, added: list[str]) -> ApplicationStage:
    """Documents, unless nothing was added to an application whose documents are all
    accepted already (it stays ready to sign)."""
    latest = latest_documents(application)
    all_accepted = bool(application.checklist) and all(
        (document := latest.get(requirement.key)) is not None
        and document.state == DocumentState.ACCEPTED.value
        for requirement in application.checklist
    )
    if not added and all_accepted and application.stage == ApplicationStage.READY_TO_SIGN.value:
        return ApplicationStage.READY_TO_SIGN
    return ApplicationStage.DOCUMENTS


def _optional_text(text: str | None, *, field: str = "/note") -> str | None:
    """The text trimmed, None when empty; InvalidInput when longer than MAX_CASE_NOTE_CHARS."""
    trimmed = (text or "").strip()
    if len(trimmed) > MAX_CASE_NOTE_CHARS:
        raise InvalidInput([f"{field}: at most {MAX_CASE_NOTE_CHARS} characters"])
    return trimmed or None
