"""The stage table: which steps an application may take where, and where each takes it."""

from __future__ import annotations

import pytest

from contract.applications import ApplicationEventKind as Kind
from contract.applications import ApplicationStage as Stage
from desk.services.application_stages import MOVES, documents_complete_stage, stage_after
from desk.services.errors import Conflict

HAPPY_PATH = [
    (Stage.INTAKE, Kind.HANDED_TO_ADVISOR, Stage.ADVICE),
    (Stage.ADVICE, Kind.ADVICE_OUTCOME, Stage.ADVICE),
    (Stage.ADVICE, Kind.DOCUMENTS_REQUESTED, Stage.DOCUMENTS),
    (Stage.DOCUMENTS, Kind.DOCUMENT_UPLOADED, Stage.DOCUMENTS),
    (Stage.DOCUMENTS, Kind.DOCUMENT_REJECTED, Stage.DOCUMENTS),
    (Stage.DOCUMENTS, Kind.DOCUMENT_ACCEPTED, Stage.DOCUMENTS),
    (Stage.READY_TO_SIGN, Kind.APPOINTMENT_BOOKED, Stage.APPOINTMENT_BOOKED),
    (Stage.APPOINTMENT_BOOKED, Kind.APPOINTMENT_RESCHEDULED, Stage.APPOINTMENT_BOOKED),
    (Stage.APPOINTMENT_BOOKED, Kind.IDENTITY_CHECKED, Stage.APPOINTMENT_BOOKED),
    (Stage.APPOINTMENT_BOOKED, Kind.SIGNED, Stage.SIGNED),
]


@pytest.mark.parametrize(("stage", "kind", "after"), HAPPY_PATH)
def test_the_journey_moves_from_intake_to_signed(stage: Stage, kind: Kind, after: Stage) -> None:
    assert stage_after(stage, kind) is after


@pytest.mark.parametrize("kind", [Kind.APPOINTMENT_CANCELLED, Kind.APPOINTMENT_MISSED])
def test_a_cancelled_or_missed_appointment_goes_back_to_ready_to_sign(kind: Kind) -> None:
    assert stage_after(Stage.APPOINTMENT_BOOKED, kind) is Stage.READY_TO_SIGN


def test_the_first_advisor_starts_the_advice_and_later_ones_change_nothing() -> None:
    assert stage_after("intake", "handed_to_advisor") is Stage.ADVICE
    assert stage_after("documents", "handed_to_advisor") is Stage.DOCUMENTS


@pytest.mark.parametrize(
    ("stage", "kind", "words"),
    [
        (Stage.INTAKE, Kind.APPOINTMENT_BOOKED, "cannot book a branch appointment"),
        (Stage.DOCUMENTS, Kind.SIGNED, "cannot record the signing"),
        (Stage.READY_TO_SIGN, Kind.DOCUMENT_UPLOADED, "cannot take a document"),
        (Stage.APPOINTMENT_BOOKED, Kind.DOCUMENTS_REQUESTED, "cannot ask for documents"),
        (Stage.SIGNED, Kind.WITHDRAWN, "cannot withdraw it"),
        (Stage.WITHDRAWN, Kind.HANDED_TO_ADVISOR, "cannot hand it to an advisor"),
    ],
)
def test_a_step_at_the_wrong_stage_names_the_step_and_the_stage(
    stage: Stage, kind: Kind, words: str
) -> None:
    with pytest.raises(Conflict) as refused:
        stage_after(stage, kind)

    assert words in refused.value.message
    assert stage.value.replace("_", " ") in refused.value.message


@pytest.mark.parametrize("stage", list(Stage))
@pytest.mark.parametrize("kind", [Kind.NOTE, Kind.RESUMED, Kind.VERIFICATION_FAILED])
def test_notes_and_resumes_are_taken_at_every_stage_and_change_nothing(
    stage: Stage, kind: Kind
) -> None:
    assert kind not in MOVES
    assert stage_after(stage, kind) is stage


@pytest.mark.parametrize("terminal", [Stage.SIGNED, Stage.WITHDRAWN, Stage.EXPIRED])
def test_final_stages_take_no_step_that_moves(terminal: Stage) -> None:
    for kind, move in MOVES.items():
        assert terminal not in move.allowed_from, kind


def test_only_a_collecting_application_becomes_ready_to_sign_when_complete() -> None:
    assert documents_complete_stage("documents") is Stage.READY_TO_SIGN
    assert documents_complete_stage("appointment_booked") is Stage.APPOINTMENT_BOOKED


def test_unknown_stages_and_kinds_are_refused() -> None:
    with pytest.raises(ValueError):
        stage_after("approved", Kind.NOTE)
    with pytest.raises(ValueError):
        stage_after(Stage.INTAKE, "teleported")
