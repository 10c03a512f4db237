"""Response bodies of the branch's routes (`desk.api.branch`).

The application, its appointment and its documents are the contract's models
(`contract.applications`, `contract.appointments`, `contract.documents`); these only put them
together for the branch's page, with the links to each document's file.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel

from contract.applications import ApplicationRecord
from contract.appointments import AppointmentRecord
from contract.documents import DocumentRecord, document_content_path
from desk.services.branch_desk import BranchCase, DayAppointment
from desk.services.branches import branches


class _Out(BaseModel):
    class Config:
        allow_mutation = False
        # The contract's amounts are exact decimal strings; pydantic would send floats for a
        # model nested in this one.
        json_encoders = {Decimal: str}


class DayAppointmentOut(_Out):
    """One appointment of the branch's day and the case it is for."""

    appointment: AppointmentRecord
    reference: str
    applicant_name: str
    stage: str
    documents_accepted: int
    documents_required: int

    @classmethod
    def of(cls, entry: DayAppointment) -> DayAppointmentOut:
        """From the service's view."""
        return cls(
            appointment=entry.appointment,
            reference=entry.reference,
            applicant_name=entry.applicant_name,
            stage=entry.stage,
            documents_accepted=entry.documents_accepted,
            documents_required=entry.documents_required,
        )


class BranchDayOut(_Out):
    """`GET /api/branch/appointments`: the branch and its appointments that day."""

    branch: str
    branch_name: str
    timezone: str
    date: dt.date
    appointments: list[DayAppointmentOut]

    @classmethod
    def of(cls, branch: str, day: dt.date, entries: list[DayAppointment]) -> BranchDayOut:
        """The day's appointments of `branch`, named as the content file names it."""
        found = branches().get(branch)
        return cls(
            branch=branch,
            branch_name=found.name if found else branch,
            timezone=str(found.zone) if found else "UTC",
            date=day,
            appointments=[DayAppointmentOut.of(entry) for entry in entries],
        )


class BranchDocumentOut(_Out):
    """An upload, and where its file is viewed (`view_url`) or downloaded (`download_url`)."""

    document: DocumentRecord
    view_url: str
    download_url: str

    @classmethod
    def of(cls, document: DocumentRecord) -> BranchDocumentOut:
        """From the contract's record."""
        path = document_content_path(document.id)
        return cls(document=document, view_url=path, download_url=f"{path}?download=1")


class BranchCaseOut(_Out):
    """`GET /api/branch/cases/{reference}`: the whole record, the documents, and whether
    identity matched at the current appointment (null: not checked yet)."""

    application: ApplicationRecord
    documents: list[BranchDocumentOut]
    identity_matched: bool | None

    @classmethod
    def of(cls, case: BranchCase) -> BranchCaseOut:
        """From the service's case."""
        return cls(
            application=case.record,
            documents=[BranchDocumentOut.of(document) for document in case.documents],
            identity_matched=case.identity_matched,
        )
