"""Signing appointments at a branch: the free slots, booking, and what the branch records.

Branches and their opening hours are the support leads' data (`content/branches.yml`). A slot
is one signing at one of the branch's desks; two customers can never hold the same desk at
the same time (a unique index, not a check-then-insert).

The bot (`Authorization: Bearer $HANDOFF_SECRET`):
- `GET {desk}/api/branches`: `BranchList`;
- `GET {desk}/api/branches/{branch}/slots?from=YYYY-MM-DD&days=N&limit=N`: `SlotList`, the
  free slots from that day (default today, in the branch's time zone), earliest first, never
  one in the past;
- `POST {desk}/api/applications/{reference}/appointment`, body `BookAppointment`: 201 with the
  application's record (stage `appointment_booked`); 409 when the slot was taken meanwhile or
  the application is not ready to sign;
- `PUT` the same path: reschedule (200, the old slot is freed in the same unit of work);
- `DELETE` the same path: cancel (200; back to `ready_to_sign`).

A desk user books for a customer at `POST {desk}/api/cases/{reference}/appointment` (same
body). Branch staff (role `branch_staff`, one branch) use `BRANCH_PATH`:
- `GET /api/branch/appointments?date=YYYY-MM-DD`: their branch's appointments that day;
- `POST /api/branch/appointments/{id}/identity-check`, body `IdentityCheck`;
- `POST /api/branch/appointments/{id}/signing`: the application becomes `signed` (409 until
  identity was checked at this appointment);
- `POST /api/branch/appointments/{id}/missed`: recorded; the customer is offered a new slot the
  next time they come back.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel, Extra, Field, StrictBool, StrictStr, validator

BRANCHES_PATH: Final = "/api/branches"
BRANCH_PATH: Final = "/api/branch"
#: The most days ahead the slots of one request may span.
MAX_SLOT_DAYS: Final = 28
#: The most slots one request returns.
MAX_SLOT_LIMIT: Final = 50


def branch_slots_path(branch: str) -> str:
    """The free slots of one branch."""
    return f"{BRANCHES_PATH}/{branch}/slots"


def application_appointment_path(reference: str) -> str:
    """The bot's booking of an application's appointment (POST book, PUT move, DELETE cancel)."""
    return f"/api/applications/{reference}/appointment"


def case_appointment_path(reference: str) -> str:
    """A desk user's booking for the customer."""
    return f"/api/cases/{reference}/appointment"


class AppointmentState(str, enum.Enum):
    """Where an appointment stands. Only `booked` holds its slot."""

    BOOKED = "booked"
    RESCHEDULED = "rescheduled"  # replaced by a later booking
    CANCELLED = "cancelled"
    MISSED = "missed"
    SIGNED = "signed"


class IdentityDocument(str, enum.Enum):
    """What the customer showed at the branch."""

    PASSPORT = "passport"
    DRIVING_LICENCE = "driving_licence"
    NATIONAL_ID = "national_id"


class _Body(BaseModel):
    class Config:
        extra = Extra.forbid
        allow_mutation = False


class Branch(_Body):
    """A branch where customers sign."""

    key: StrictStr
    name: StrictStr
    address: StrictStr
    timezone: StrictStr


class BranchList(_Body):
    """`GET /api/branches`."""

    branches: tuple[Branch, ...]


class Slot(_Body):
    """A free signing slot; `label` is its start in the branch's own time ("Thu 3 Dec, 09:45")."""

    branch: StrictStr
    starts_at: datetime
    ends_at: datetime
    label: StrictStr
    free_desks: int


class SlotList(_Body):
    """`GET /api/branches/{branch}/slots`."""

    branch: Branch
    slots: tuple[Slot, ...]


class BookAppointment(_Body):
    """Book (or move to) a slot: the branch and the slot's start, as the slots list gave it."""

    branch: StrictStr = Field(..., min_length=1, max_length=64)
    starts_at: datetime

    @validator("starts_at")
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("must carry a time zone (UTC, as the slots list gives it)")
        return value


class AppointmentRecord(_Body):
    """An application's appointment (the latest one that is not rescheduled or cancelled)."""

    id: int
    branch: StrictStr
    branch_name: StrictStr
    branch_address: StrictStr
    starts_at: datetime
    ends_at: datetime
    label: StrictStr
    state: StrictStr
    identity_checked_at: datetime | None = None
    identity_checked_by: StrictStr | None = None
    signed_at: datetime | None = None

    def to_evidence(self) -> dict[str, Any]:
        """The appointment for the handoff context."""
        return {
            "branch": self.branch,
            "branch_name": self.branch_name,
            "starts_at": self.starts_at.isoformat(),
            "label": self.label,
            "state": self.state,
        }


class IdentityCheck(_Body):
    """`POST /api/branch/appointments/{id}/identity-check`: what was shown, and whether the
    name and the photo matched the record."""

    document: IdentityDocument
    matches: StrictBool
    note: StrictStr | None = Field(default=None, max_length=500)
