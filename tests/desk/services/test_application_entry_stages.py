"""Every timeline entry records the application's stage after it (`append_entry`)."""

from __future__ import annotations

from itertools import groupby

import pytest

from contract.applications import ApplicationEventKind, ApplicationStage
from desk.store.database import Database
from tests.support.mortgage_cases import application_at

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\*")


def test_each_entry_records_the_stage_it_left_the_application_at(database: Database) -> None:
    with database.session(write=True) as session:
        application = application_at(session, ApplicationStage.APPOINTMENT_BOOKED)
        entries = [(entry.kind, entry.stage) for entry in application.events]
        final_stage = application.stage

    kinds = [kind for kind, _ in entries]
    assert entries[:2] == [("chat_started", "intake"), ("form_completed", "intake")]
    assert entries[kinds.index(ApplicationEventKind.HANDED_TO_ADVISOR.value)][1] == "advice"
    # The last document accepted makes it ready to sign (a stage set from the documents, not
    # by the kind alone); the ones before it leave it collecting documents.
    accepted = [stage for kind, stage in entries if kind == "document_accepted"]
    assert accepted[-1] == "ready_to_sign"
    assert set(accepted[:-1]) <= {"documents"}
    assert entries[-1] == ("appointment_booked", final_stage)
    assert [stage for stage, _ in groupby(stage for _, stage in entries)] == [
        "intake",
        "advice",
        "documents",
        "ready_to_sign",
        "appointment_booked",
    ]
