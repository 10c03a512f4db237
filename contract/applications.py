"""Mortgage applications, owned by the desk: the one record every touchpoint shares.

The web chat (through the bot), the advisor's desk and the branch read and write the same
record, and each appends to its one timeline (`ApplicationEventRecord`: what, where, who,
when). The bot calls these with `Authorization: Bearer $HANDOFF_SECRET`:
- `POST {desk}/api/applications`, body `NewApplication`: 201 with the `ApplicationRecord` (a
  fresh `MTG-XXXXX` reference; its timeline starts with `chat_started` and `form_completed`);
- `GET {desk}/api/applications/{reference}` (the reference as typed: "mtg 7k3q9" works): 200
  with the record, 404 if there is none;
- `POST {desk}/api/applications/{reference}/events`, body `ApplicationEventRequest`: 200 with
  the record, its timeline one entry longer (only `FREE_EVENT_KINDS`; the rest are written by
  the desk's own steps: documents in `contract.documents`, the branch appointment in
  `contract.appointments`, resuming in `contract.resume`).

Money travels as decimal strings ("280000.00"), never as binary floats, so what the customer
typed is what is stored; a body with an amount as a JSON number is refused.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, Extra, Field, StrictStr, conint, root_validator, validator

from contract.appointments import AppointmentRecord
from contract.documents import ChecklistItem

APPLICATIONS_PATH: Final = "/api/applications"

LTV_PLACES: Final = Decimal("0.0001")


def application_path(reference: str) -> str:
    """The path of one application."""
    return f"{APPLICATIONS_PATH}/{reference}"


def application_events_path(reference: str) -> str:
    """The path that appends to one application's history."""
    return f"{application_path(reference)}/events"


def loan_to_value(loan: Decimal, property_value: Decimal) -> Decimal:
    """Return loan ÷ property value, rounded to four places (0.8 means 80%)."""
    if property_value <= 0:
        raise ValueError("property_value must be positive to compute a loan-to-value ratio")
    return (loan / property_value).quantize(LTV_PLACES, rounding=ROUND_HALF_UP)


class ApplicationStage(str, enum.Enum):
    """Where a mortgage application is on its way to the signing.

    intake → advice → documents → ready_to_sign → appointment_booked → signed, with withdrawn
    and expired as the exits (`TERMINAL_STAGES`). The desk moves it on (see
    `desk.services.application_stages`); no touchpoint sets a stage directly.
    """

    INTAKE = "intake"
    ADVICE = "advice"
    DOCUMENTS = "documents"
    READY_TO_SIGN = "ready_to_sign"
    APPOINTMENT_BOOKED = "appointment_booked"
    SIGNED = "signed"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


APPLICATION_STAGES: Final[tuple[str, ...]] = tuple(s.value for s in ApplicationStage)
TERMINAL_STAGES: Final = frozenset(
    {ApplicationStage.SIGNED, ApplicationStage.WITHDRAWN, ApplicationStage.EXPIRED}
)


class Touchpoint(str, enum.Enum):
    """Where something happened to an application. Extend freely: no CHECK constraint."""

    WEB_CHAT = "web_chat"
    DESK = "desk"
    BRANCH = "branch"
    PHONE = "phone"
    EMAIL = "email"
    SYSTEM = "system"


class ActorKind(str, enum.Enum):
    """Who acted: the customer, the bot, a desk agent (advisor, back office), branch staff, or
    the system (a timer, a migration)."""

    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"
    BRANCH_STAFF = "branch_staff"
    SYSTEM = "system"


class ApplicationEventKind(str, enum.Enum):
    """What happened to an application: one entry of its timeline. Extend freely: no CHECK."""

    CHAT_STARTED = "chat_started"
    FORM_COMPLETED = "form_completed"
    HANDED_TO_ADVISOR = "handed_to_advisor"
    ADVISOR_NOTE = "advisor_note"
    ADVICE_OUTCOME = "advice_outcome"
    HANDED_BACK = "handed_back"
    DOCUMENTS_REQUESTED = "documents_requested"
    DOCUMENT_UPLOADED = "document_uploaded"
    DOCUMENT_ACCEPTED = "document_accepted"
    DOCUMENT_REJECTED = "document_rejected"
    APPOINTMENT_BOOKED = "appointment_booked"
    APPOINTMENT_RESCHEDULED = "appointment_rescheduled"
    APPOINTMENT_CANCELLED = "appointment_cancelled"
    APPOINTMENT_MISSED = "appointment_missed"
    IDENTITY_CHECKED = "identity_checked"
    SIGNED = "signed"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    RESUMED = "resumed"
    VERIFICATION_FAILED = "verification_failed"
    RESUME_LOCKED = "resume_locked"
    NOTE = "note"


#: The kinds a touchpoint may append through `POST .../events`. The others are written by the
#: desk's own steps (upload, review, booking, verification, signing), which check what they
#: need first: a bot cannot claim a document was accepted or an application signed.
FREE_EVENT_KINDS: Final = frozenset(
    {
        ApplicationEventKind.CHAT_STARTED,
        ApplicationEventKind.HANDED_TO_ADVISOR,
        ApplicationEventKind.ADVISOR_NOTE,
        ApplicationEventKind.HANDED_BACK,
        ApplicationEventKind.WITHDRAWN,
        ApplicationEventKind.NOTE,
    }
)


class AdviceOutcome(str, enum.Enum):
    """What the advisor concluded: go on to the documents, need more from the customer first,
    or the customer does not go ahead (the application is withdrawn)."""

    PROCEED = "proceed"
    MORE_INFORMATION = "more_information"
    NOT_PROCEEDING = "not_proceeding"


#: The slot an advisor sets when handing the conversation back (`ResolveRequest.slots`).
NEXT_STEP_SLOT: Final = "mortgage_next_step"


class NextStep(str, enum.Enum):
    """What the bot does when an advisor hands the conversation back (slot `mortgage_next_step`)."""

    COLLECT_DOCUMENTS = "collect_documents"
    BOOK_APPOINTMENT = "book_appointment"
    NONE = "none"


if TYPE_CHECKING:
    Amount = Decimal
    PositiveAmount = Decimal
    Years = int
else:
    from pydantic import condecimal

    # Numeric(12, 2) in the database: what does not fit is refused here, not truncated there.
    Amount = condecimal(ge=0, max_digits=12, decimal_places=2)
    PositiveAmount = condecimal(gt=0, max_digits=12, decimal_places=2)
    Years = conint(strict=True, gt=0, le=100)

_MONEY_FIELDS: Final = ("property_value", "deposit_amount", "loan_amount", "annual_income")


class _Body(BaseModel):
    class Config:
        extra = Extra.forbid
        allow_mutation = False
        # Exact amounts on the wire; pydantic would send Decimal as a float.
        json_encoders = {Decimal: str}


class MortgageIntake(_Body):
    """The values of a completed mortgage intake form, already validated by the bot."""

    applicant_name: StrictStr = Field(..., min_length=1, max_length=100)
    email: StrictStr = Field(..., min_length=3, max_length=320)
    property_value: PositiveAmount
    deposit_amount: Amount
    loan_amount: PositiveAmount
    term_years: Years
    annual_income: Amount
    employment_type: StrictStr = Field(..., min_length=1, max_length=32)
    currency: StrictStr = Field(default="GBP", regex=r"^[A-Z]{3}$")

    @validator(*_MONEY_FIELDS, pre=True)
    def _exact(cls, value: Any) -> Any:
        # A float has already lost the pennies the customer typed; nothing else is coerced.
        if not isinstance(value, Decimal | str):
            raise TypeError(
                'must be a Decimal, sent as a decimal string ("250000.00"), not a number'
            )
        return value

    @root_validator(skip_on_failure=True)
    def _loan_fits_the_property(cls, values: dict[str, Any]) -> dict[str, Any]:
        if not Decimal(0) < values["loan_amount"] < values["property_value"]:
            raise ValueError("loan_amount must be positive and less than property_value")
        return values

    @property
    def loan_to_value(self) -> Decimal:
        """Loan ÷ property value, to four places."""
        return loan_to_value(self.loan_amount, self.property_value)


class NewApplication(_Body):
    """`POST /api/applications`: a completed intake and where it was made."""

    intake: MortgageIntake
    origin_channel: StrictStr = Field(..., min_length=1, max_length=64)
    origin_sender_id: StrictStr = Field(..., min_length=1, max_length=255)
    #: When the conversation that made the application began (its first entry on the
    #: timeline); the time of the request when not given.
    chat_started_at: datetime | None = None


class ApplicationEventRequest(_Body):
    """`POST /api/applications/{reference}/events`: one entry for the timeline.

    Only `FREE_EVENT_KINDS` are taken here (422 otherwise): the other kinds come from the
    desk's own steps, which check their preconditions.
    """

    touchpoint: Touchpoint
    kind: ApplicationEventKind
    actor_kind: ActorKind = ActorKind.BOT
    actor: StrictStr | None = Field(default=None, min_length=1, max_length=255)
    detail: dict[str, Any] = Field(default_factory=dict)

    @validator("kind")
    def _free_kind(cls, kind: ApplicationEventKind) -> ApplicationEventKind:
        if kind not in FREE_EVENT_KINDS:
            allowed = ", ".join(sorted(k.value for k in FREE_EVENT_KINDS))
            raise ValueError(f"{kind.value} is recorded by the desk itself; allowed: {allowed}")
        return kind

    @validator("detail", pre=True)
    def _an_object(cls, value: Any) -> Any:
        # pydantic would turn pairs (`[["a", 1]]`) into an object.
        if not isinstance(value, dict):
            raise ValueError("must be a JSON object")
        return value


class ApplicationEventRecord(_Body):
    """One entry of an application's timeline: what happened, where, who did it and when.

    Kinds, touchpoints and actor kinds newer than a reader pass through as text.
    """

    occurred_at: datetime
    touchpoint: StrictStr
    kind: StrictStr
    actor_kind: StrictStr
    actor: StrictStr | None
    detail: Mapping[str, Any]

    def to_evidence(self) -> dict[str, Any]:
        """Return the entry as JSON-serialisable data."""
        return {
            "occurred_at": self.occurred_at.isoformat(),
            "touchpoint": self.touchpoint,
            "kind": self.kind,
            "actor_kind": self.actor_kind,
            "actor": self.actor,
            "detail": dict(self.detail),
        }


class ApplicationRecord(_Body):
    """A mortgage application as the desk holds it: its stage, the document checklist with
    each item's state, the branch appointment, and the whole timeline (oldest first)."""

    reference: StrictStr
    stage: StrictStr
    applicant_name: StrictStr
    email: StrictStr
    property_value: Decimal
    deposit_amount: Decimal
    loan_amount: Decimal
    loan_to_value: Decimal
    term_years: int
    annual_income: Decimal
    employment_type: StrictStr
    currency: StrictStr
    origin_channel: StrictStr
    origin_sender_id: StrictStr
    created_at: datetime
    updated_at: datetime
    checklist: tuple[ChecklistItem, ...] = ()
    appointment: AppointmentRecord | None = None
    events: tuple[ApplicationEventRecord, ...]

    @property
    def missing_items(self) -> tuple[ChecklistItem, ...]:
        """The checklist items still to be sent or sent again (missing or rejected), in order."""
        return tuple(item for item in self.checklist if item.needs_upload)

    def to_evidence(self) -> dict[str, Any]:
        """Return the application as JSON-serialisable data; money as numbers."""
        return {
            "reference": self.reference,
            "status": self.stage,
            "stage": self.stage,
            "applicant_name": self.applicant_name,
            "email": self.email,
            "currency": self.currency,
            "property_value": _json_number(self.property_value),
            "deposit_amount": _json_number(self.deposit_amount),
            "loan_amount": _json_number(self.loan_amount),
            "loan_to_value": _json_number(self.loan_to_value),
            "term_years": self.term_years,
            "annual_income": _json_number(self.annual_income),
            "employment_type": self.employment_type,
            "origin_channel": self.origin_channel,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "documents": [item.to_evidence() for item in self.checklist],
            "appointment": None if self.appointment is None else self.appointment.to_evidence(),
            "history": [event.to_evidence() for event in self.events],
        }


def _json_number(amount: Decimal) -> int | float:
    """Whole amounts as int, others as float: exact enough for Numeric(12, 2) display."""
    if amount == amount.to_integral_value():
        return int(amount)
    return float(amount)
