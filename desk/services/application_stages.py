"""How a mortgage application moves through its stages: one table, checked on every entry.

Each timeline entry kind either leaves the stage as it is, or is allowed only from some stages
and moves the application on. A step taken at the wrong stage (booking before the documents
are accepted, signing without an appointment) is a `Conflict` naming both, and nothing is
written. Withdrawn, expired and signed are final: after them only notes are taken.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from contract.applications import TERMINAL_STAGES, ApplicationEventKind, ApplicationStage
from desk.services.errors import Conflict

Kind = ApplicationEventKind
Stage = ApplicationStage

_OPEN: Final = frozenset(Stage) - TERMINAL_STAGES


@dataclass(frozen=True)
class Move:
    """From which stages a kind is allowed, and the stage after it (None: unchanged)."""

    allowed_from: frozenset[Stage]
    to: Stage | None = None


def _from(*stages: Stage) -> frozenset[Stage]:
    return frozenset(stages)


#: Kinds not listed here are allowed at any stage and change nothing (notes, resumes, ...).
MOVES: Final[Mapping[Kind, Move]] = {
    Kind.HANDED_TO_ADVISOR: Move(_OPEN),
    Kind.HANDED_BACK: Move(_OPEN),
    Kind.ADVICE_OUTCOME: Move(_from(Stage.INTAKE, Stage.ADVICE, Stage.DOCUMENTS)),
    Kind.DOCUMENTS_REQUESTED: Move(
        _from(Stage.INTAKE, Stage.ADVICE, Stage.DOCUMENTS, Stage.READY_TO_SIGN), Stage.DOCUMENTS
    ),
    Kind.DOCUMENT_UPLOADED: Move(_from(Stage.DOCUMENTS)),
    Kind.DOCUMENT_ACCEPTED: Move(_from(Stage.DOCUMENTS)),
    Kind.DOCUMENT_REJECTED: Move(_from(Stage.DOCUMENTS)),
    Kind.APPOINTMENT_BOOKED: Move(_from(Stage.READY_TO_SIGN), Stage.APPOINTMENT_BOOKED),
    Kind.APPOINTMENT_RESCHEDULED: Move(_from(Stage.APPOINTMENT_BOOKED)),
    Kind.APPOINTMENT_CANCELLED: Move(_from(Stage.APPOINTMENT_BOOKED), Stage.READY_TO_SIGN),
    Kind.APPOINTMENT_MISSED: Move(_from(Stage.APPOINTMENT_BOOKED), Stage.READY_TO_SIGN),
    Kind.IDENTITY_CHECKED: Move(_from(Stage.APPOINTMENT_BOOKED)),
    Kind.SIGNED: Move(_from(Stage.APPOINTMENT_BOOKED), Stage.SIGNED),
    Kind.WITHDRAWN: Move(_OPEN, Stage.WITHDRAWN),
    Kind.EXPIRED: Move(_OPEN, Stage.EXPIRED),
}

#: Moves that depend on where the application is: the first handoff starts the advice.
_ADVANCES: Final[Mapping[tuple[Kind, Stage], Stage]] = {
    (Kind.HANDED_TO_ADVISOR, Stage.INTAKE): Stage.ADVICE,
    (Kind.ADVICE_OUTCOME, Stage.INTAKE): Stage.ADVICE,
}

_DOING: Final[Mapping[Kind, str]] = {
    Kind.HANDED_TO_ADVISOR: "hand it to an advisor",
    Kind.HANDED_BACK: "hand it back to the bot",
    Kind.ADVICE_OUTCOME: "record the advice",
    Kind.DOCUMENTS_REQUESTED: "ask for documents",
    Kind.DOCUMENT_UPLOADED: "take a document",
    Kind.DOCUMENT_ACCEPTED: "accept a document",
    Kind.DOCUMENT_REJECTED: "reject a document",
    Kind.APPOINTMENT_BOOKED: "book a branch appointment",
    Kind.APPOINTMENT_RESCHEDULED: "move the appointment",
    Kind.APPOINTMENT_CANCELLED: "cancel the appointment",
    Kind.APPOINTMENT_MISSED: "mark the appointment missed",
    Kind.IDENTITY_CHECKED: "check identity",
    Kind.SIGNED: "record the signing",
    Kind.WITHDRAWN: "withdraw it",
    Kind.EXPIRED: "expire it",
}


def stage_after(current: Stage | str, kind: Kind | str) -> Stage:
    """The stage after an entry of `kind` at stage `current`.

    Raises:
        Conflict: The kind is not allowed at this stage (the message names both).
    """
    stage = Stage(current)
    entry = Kind(kind)
    move = MOVES.get(entry)
    if move is None:
        return stage
    if stage not in move.allowed_from:
        doing = _DOING.get(entry, entry.value.replace("_", " "))
        raise Conflict(
            f"cannot {doing} while the application is at stage {stage.value.replace('_', ' ')}"
        )
    return move.to or _ADVANCES.get((entry, stage), stage)


def documents_complete_stage(current: Stage | str) -> Stage:
    """Once every checklist item is accepted, a collecting application is ready to sign."""
    stage = Stage(current)
    return Stage.READY_TO_SIGN if stage is Stage.DOCUMENTS else stage
