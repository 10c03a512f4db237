"""Mortgage applications, owned by the desk: the record, its history and the calls that reach it.

Every touchpoint (the bot's web chat, the desk, later the branch) reads and writes the one
record through the desk, with `Authorization: Bearer $HANDOFF_SECRET` like the bot's other
calls to the desk:
- `POST {desk}/api/applications`, body `NewApplication`: 201 with the `ApplicationRecord` (a
  fresh `MTG-XXXXX` reference and its `created` event);
- `GET {desk}/api/applications/{reference}` (the reference as typed: "mtg 7k3q9" works): 200
  with the record, 404 if there is none;
- `POST {desk}/api/applications/{reference}/events`, body `ApplicationEventRequest`: 200 with
  the record, its history one event longer (and its status moved on if the kind does).

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


class ApplicationStatus(str, enum.Enum):
    """Where a mortgage application is in its life."""

    INTAKE_COMPLETE = "intake_complete"
    ADVICE_REQUESTED = "advice_requested"
    DOCUMENTS_PENDING = "documents_pending"
    AWAITING_SIGNATURE = "awaiting_signature"
    SIGNED = "signed"
    WITHDRAWN = "withdrawn"


APPLICATION_STATUSES: Final[tuple[str, ...]] = tuple(s.value for s in ApplicationStatus)


class Touchpoint(str, enum.Enum):
    """Where something happened to an application. Extend freely: no CHECK constraint."""

    WEB_CHAT = "web_chat"
    DESK = "desk"
    BRANCH = "branch"
    PHONE = "phone"
    EMAIL = "email"
    SYSTEM = "system"


class ApplicationEventKind(str, enum.Enum):
    """What happened to an application. Extend freely: no CHECK constraint."""

    CREATED = "created"
    ADVICE_REQUESTED = "advice_requested"
    HANDED_OFF = "handed_off"
    DOCUMENTS_REQUESTED = "documents_requested"
    DOCUMENT_RECEIVED = "document_received"
    SIGNATURE_REQUESTED = "signature_requested"
    SIGNED = "signed"
    WITHDRAWN = "withdrawn"
    NOTE = "note"


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


class ApplicationEventRequest(_Body):
    """`POST /api/applications/{reference}/events`: one entry for the history."""

    touchpoint: Touchpoint
    kind: ApplicationEventKind
    actor: StrictStr | None = Field(default=None, min_length=1, max_length=255)
    detail: dict[str, Any] = Field(default_factory=dict)

    @validator("detail", pre=True)
    def _an_object(cls, value: Any) -> Any:
        # pydantic would turn pairs (`[["a", 1]]`) into an object.
        if not isinstance(value, dict):
            raise ValueError("must be a JSON object")
        return value


class ApplicationEventRecord(_Body):
    """One entry of an application's history (kinds and touchpoints newer than a reader pass)."""

    occurred_at: datetime
    touchpoint: StrictStr
    kind: StrictStr
    actor: StrictStr | None
    detail: Mapping[str, Any]

    def to_evidence(self) -> dict[str, Any]:
        """Return the event as JSON-serialisable data."""
        return {
            "occurred_at": self.occurred_at.isoformat(),
            "touchpoint": self.touchpoint,
            "kind": self.kind,
            "actor": self.actor,
            "detail": dict(self.detail),
        }


class ApplicationRecord(_Body):
    """A mortgage application with its whole history, as the desk holds it."""

    reference: StrictStr
    status: StrictStr
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
    events: tuple[ApplicationEventRecord, ...]

    def to_evidence(self) -> dict[str, Any]:
        """Return the application as JSON-serialisable data; money as numbers."""
        return {
            "reference": self.reference,
            "status": self.status,
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
            "history": [event.to_evidence() for event in self.events],
        }


def _json_number(amount: Decimal) -> int | float:
    """Whole amounts as int, others as float: exact enough for Numeric(12, 2) display."""
    if amount == amount.to_integral_value():
        return int(amount)
    return float(amount)
