"""The handoff context: everything a human agent at the desk needs to take over a conversation.

Defined once, here, as pydantic models; the JSON Schema in `schemas/` is generated from these
models (`python -m contract.schema`) and is what the desk validates incoming POSTs against.

Nullability: pydantic 1.10 marks `Optional` fields as not required but does not add `null` to
their JSON Schema type, while `.json()` emits `null` for them. We keep the nulls on the wire
(the bot always sends every key, so the desk never has to guess whether a field was forgotten
or is empty) and fix the schema instead: `_ContractModel.Config.schema_extra` rewrites every
nullable property as `anyOf: [<type>, {"type": "null"}]`. Which keys are required stays as
pydantic says, so the schema accepts exactly what the models accept. Serialise with
`context.json()` (never `exclude_none=True`) and the result validates against the schema.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Extra, Field, StrictBool, StrictStr, conint, constr, root_validator
from pydantic.datetime_parse import parse_datetime

#: The version of the contexts the bot sends. Each minor version only adds to the one before:
#: 1.1 open flow names, further evidence sections, `evidence_view`, `customer_name`; 1.2 the
#: mortgage application's stage, document checklist and branch appointment. So 1.0 and 1.1
#: contexts (e.g. ones still waiting in an outbox) remain valid and the desk accepts all three.
SCHEMA_VERSION: Literal["1.2"] = "1.2"

SNAKE_CASE_PATTERN = r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# RFC 3339 with a mandatory UTC offset: jsonschema's `date-time` format check needs an optional
# package we do not ship, and other validators differ, so the pattern is what actually enforces
# "aware UTC" for the desk.
UTC_DATETIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\+00:00)$"
# RFC 6901 JSON Pointer; a "*" segment stands for any array index.
JSON_POINTER_PATTERN = r"^(/([^~/]|~[01])*)+$"
LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
#: The longest flow name (the desk stores it in a column of this size).
FLOW_MAX_LENGTH = 32
CURRENCY_PATTERN = r"^[A-Z]{3}$"

if TYPE_CHECKING:
    NonEmptyStr = str
    SnakeCaseStr = str
    FlowName = str
    JsonPointer = str
    PositiveInt = int
    NonNegativeInt = int
else:
    NonEmptyStr = constr(strict=True, min_length=1)
    SnakeCaseStr = constr(strict=True, regex=SNAKE_CASE_PATTERN)
    FlowName = constr(strict=True, regex=SNAKE_CASE_PATTERN, max_length=FLOW_MAX_LENGTH)
    JsonPointer = constr(strict=True, regex=JSON_POINTER_PATTERN)
    PositiveInt = conint(strict=True, ge=1)
    NonNegativeInt = conint(strict=True, ge=0)


class AwareUtcDateTime(datetime):
    """A timezone-aware datetime, normalised to UTC; naive datetimes are rejected."""

    @classmethod
    def __get_validators__(cls) -> Any:
        """Parse like pydantic's datetime, then insist on a timezone."""
        yield parse_datetime
        yield cls._require_aware_utc

    @classmethod
    def __modify_schema__(cls, field_schema: dict[str, Any]) -> None:
        """Describe the value as an RFC 3339 string with a UTC offset."""
        field_schema.update(type="string", format="date-time", pattern=UTC_DATETIME_PATTERN)

    @staticmethod
    def _require_aware_utc(value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("datetime must be timezone-aware (UTC)")
        return value.astimezone(timezone.utc)


if TYPE_CHECKING:
    # Type checkers see a plain datetime (what callers pass); pydantic validates with the class.
    UtcDateTime = datetime
else:
    UtcDateTime = AwareUtcDateTime


_SCHEMA_ANNOTATIONS = ("title", "description", "default", "examples")


def _nullable(property_schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite one property schema so that it also accepts JSON null."""
    annotations = {k: property_schema[k] for k in _SCHEMA_ANNOTATIONS if k in property_schema}
    value_schema = {k: v for k, v in property_schema.items() if k not in _SCHEMA_ANNOTATIONS}
    # pydantic wraps a described $ref in a one-element allOf; unwrap it to keep anyOf flat.
    if list(value_schema) == ["allOf"] and len(value_schema["allOf"]) == 1:
        value_schema = value_schema["allOf"][0]
    return {**annotations, "anyOf": [value_schema, {"type": "null"}]}


def _add_uuid_pattern(property_schema: dict[str, Any]) -> None:
    # Draft-7 validators do not check `format: uuid`; a pattern works in every validator.
    if property_schema.get("format") == "uuid":
        property_schema.setdefault("pattern", UUID_PATTERN)


def _fix_up_schema(schema: dict[str, Any], model_class: type[BaseModel]) -> None:
    """Make the generated schema match what `.json()` emits (see the module docstring)."""
    properties: dict[str, dict[str, Any]] = schema.get("properties", {})
    for field in model_class.__fields__.values():
        property_schema = properties.get(field.alias)
        if property_schema is None:
            continue
        _add_uuid_pattern(property_schema)
        if field.allow_none and not _accepts_null(property_schema):
            properties[field.alias] = _nullable(property_schema)


def _accepts_null(property_schema: dict[str, Any]) -> bool:
    kind = property_schema.get("type")
    return kind == "null" or (isinstance(kind, list) and "null" in kind)


class _ContractModel(BaseModel):
    """Base of every contract model: unknown fields are an error, not silently dropped."""

    class Config:
        extra = "forbid"
        allow_mutation = False
        schema_extra = staticmethod(_fix_up_schema)


# --- Enumerations ------------------------------------------------------------------------------


class TriggerType(str, Enum):
    """Why the bot stopped: the customer asked, a limit was hit, a rule fired, or NLU failed."""

    USER_REQUEST = "user_request"
    CYCLE_LIMIT = "cycle_limit"
    BUSINESS_RULE = "business_rule"
    NLU_FALLBACK = "nlu_fallback"
    NEEDS_ADVICE = "needs_advice"


class Priority(str, Enum):
    """Queue priority, lowest first."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Flow(str, Enum):
    """Named flows of the journeys the bot ships with, and `none` (no journey).

    The context's `flow` is open: any snake_case name, so a new journey declares its own
    (`actions.handoff.journey.Journey.flow`) without a contract change.
    """

    ORDER_STATUS = "order_status"
    TROUBLESHOOTING = "troubleshooting"
    MORTGAGE = "mortgage"
    NONE = "none"


class Speaker(str, Enum):
    """Who said a transcript turn."""

    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"


class AttemptKind(str, Enum):
    """What the bot tried before handing off."""

    TROUBLESHOOTING_STEP = "troubleshooting_step"
    ORDER_LOOKUP = "order_lookup"


class SentimentLabel(str, Enum):
    """VADER's reading of the customer's mood (compound score thresholds +/-0.05)."""

    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


# --- Parts of the context -----------------------------------------------------------------------


class Conversation(_ContractModel):
    """Where the conversation takes place, so the desk can answer on the same channel."""

    sender_id: NonEmptyStr = Field(..., description="Rasa sender id of the conversation.")
    channel: NonEmptyStr = Field(..., description="Input channel name, e.g. `rest`, `socketio`.")
    language: str = Field(
        ...,
        regex=LANGUAGE_PATTERN,
        description="BCP 47 language tag the customer is served in, e.g. `en`.",
    )


class Trigger(_ContractModel):
    """What made the bot hand the conversation over."""

    type: TriggerType = Field(..., description="Category of the trigger.")
    reason_code: SnakeCaseStr = Field(
        ..., description="Specific, machine-readable reason in snake_case, e.g. `order_delayed`."
    )
    detail: StrictStr = Field(..., description="One-line explanation written by the bot.")


class Routing(_ContractModel):
    """Where the desk should queue the conversation."""

    queue: NonEmptyStr = Field(..., description="Desk queue, e.g. `order_support`.")
    priority: Priority = Field(..., description="Queue priority.")
    skills: list[NonEmptyStr] = Field(
        default_factory=list, description="Skills an agent needs to pick the conversation up."
    )


class Turn(_ContractModel):
    """One message of the transcript, oldest first."""

    speaker: Speaker = Field(..., description="Who sent the message.")
    text: StrictStr = Field(..., description="Message text as sent (empty if there was none).")
    timestamp: UtcDateTime = Field(..., description="When the message was sent (UTC).")
    intent: NonEmptyStr | None = Field(
        default=None,
        description="Customer turns: the intent NLU predicted. Null for other speakers.",
    )
    confidence: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Customer turns: NLU confidence of `intent`."
    )
    action: NonEmptyStr | None = Field(
        default=None,
        description="Bot turns: the Rasa action or response that produced the message.",
    )
    buttons: list[StrictStr] | None = Field(
        default=None, description="Titles of the buttons offered with a bot message, if any."
    )
    agent_name: NonEmptyStr | None = Field(
        default=None, description="Agent turns: display name of the human agent."
    )


class Attempt(_ContractModel):
    """Something the bot tried on the customer's behalf before handing off."""

    kind: AttemptKind = Field(..., description="What was tried.")
    label: NonEmptyStr = Field(
        ..., description="Troubleshooting step id, or the order number that was looked up."
    )
    description: StrictStr = Field(..., description="What the bot asked or did.")
    cycle: PositiveInt | None = Field(
        default=None, description="Troubleshooting: which pass through the tree (1-based)."
    )
    step: PositiveInt | None = Field(
        default=None, description="Troubleshooting: position of the step in the sequence (1-based)."
    )
    answer: StrictStr | None = Field(
        default=None, description="What the customer answered, if they answered."
    )
    outcome: SnakeCaseStr = Field(
        ..., description="Result, e.g. `unresolved`, `resolved`, `found`, `not_found`, `malformed`."
    )
    asked_at: UtcDateTime = Field(..., description="When the bot asked or tried (UTC).")
    answered_at: UtcDateTime | None = Field(
        default=None, description="When the customer answered (UTC)."
    )


class OrderItem(_ContractModel):
    """One line of an order."""

    sku: NonEmptyStr = Field(..., description="Stock keeping unit.")
    name: NonEmptyStr = Field(..., description="Product name.")
    quantity: PositiveInt = Field(..., description="Number of units ordered.")


class TrackingEvent(_ContractModel):
    """One carrier scan of the parcel."""

    occurred_at: UtcDateTime = Field(..., description="When the carrier recorded it (UTC).")
    location: StrictStr | None = Field(
        default=None, description="Where, as reported by the carrier."
    )
    description: StrictStr = Field(..., description="Carrier's description of the event.")
    status: NonEmptyStr = Field(..., description="Carrier status code, e.g. `in_transit`.")


class OrderEvidence(_ContractModel):
    """The order record the bot looked up."""

    order_number: NonEmptyStr = Field(..., description="Order number.")
    status: NonEmptyStr = Field(..., description="Order status, e.g. `shipped`, `delayed`.")
    customer_name: NonEmptyStr | None = Field(
        default=None,
        description=(
            "Name on the order (personal data); null unless the bot knows the customer owns"
            " the order (anyone can type an order number)."
        ),
    )
    customer_email: NonEmptyStr | None = Field(
        default=None, description="E-mail on the order (personal data); null like `customer_name`."
    )
    items: list[OrderItem] = Field(default_factory=list, description="Order lines.")
    carrier: StrictStr | None = Field(default=None, description="Carrier, once shipped.")
    tracking_number: StrictStr | None = Field(default=None, description="Carrier tracking number.")
    estimated_delivery: date | None = Field(default=None, description="Promised delivery date.")
    placed_at: UtcDateTime = Field(..., description="When the order was placed (UTC).")
    tracking_events: list[TrackingEvent] = Field(
        default_factory=list, description="Carrier scans, oldest first."
    )
    looked_up_at: UtcDateTime = Field(..., description="When the bot read this record (UTC).")


class ChecklistItemEvidence(_ContractModel):
    """One document of the application's checklist (1.2)."""

    key: NonEmptyStr = Field(..., description="Checklist key, e.g. `payslips`.")
    title: NonEmptyStr = Field(..., description="What the document is, for people.")
    state: NonEmptyStr = Field(..., description="missing, uploaded, accepted or rejected.")
    rejection_reason: StrictStr | None = Field(
        default=None,
        description="Why the latest upload was rejected (free text by a person: personal data).",
    )


class AppointmentEvidence(_ContractModel):
    """The branch signing appointment (1.2)."""

    branch: NonEmptyStr = Field(..., description="Branch key.")
    branch_name: NonEmptyStr = Field(..., description="Branch name.")
    starts_at: UtcDateTime = Field(..., description="When the signing starts (UTC).")
    label: NonEmptyStr = Field(..., description="The start in the branch's own time.")
    state: NonEmptyStr = Field(..., description="booked, missed, signed, ...")


class ApplicationEvidence(_ContractModel):
    """The mortgage application, submitted or still a draft in the intake form.

    Amounts are optional because a draft may be partial.
    """

    reference: NonEmptyStr | None = Field(
        default=None,
        description="Application reference; null while still a draft in the intake form.",
    )
    status: NonEmptyStr = Field(..., description="Application status, e.g. `draft`, `submitted`.")
    applicant_name: StrictStr | None = Field(
        default=None, description="Applicant name (personal data)."
    )
    email: StrictStr | None = Field(default=None, description="Applicant e-mail (personal data).")
    property_value: float | None = Field(default=None, ge=0, description="Property value.")
    deposit_amount: float | None = Field(
        default=None, ge=0, description="Deposit the applicant brings."
    )
    loan_amount: float | None = Field(default=None, ge=0, description="Requested loan amount.")
    loan_to_value: float | None = Field(
        default=None, ge=0, description="Loan-to-value as a ratio (0.8 means 80 %)."
    )
    term_years: PositiveInt | None = Field(default=None, description="Loan term in years.")
    annual_income: float | None = Field(
        default=None, ge=0, description="Gross annual income (personal data)."
    )
    employment_type: StrictStr | None = Field(
        default=None, description="e.g. `employed`, `self_employed`."
    )
    currency: str = Field(..., regex=CURRENCY_PATTERN, description="ISO 4217 code of the amounts.")
    created_at: UtcDateTime | None = Field(default=None, description="When it was submitted (UTC).")
    stage: StrictStr | None = Field(
        default=None,
        description=(
            "Since 1.2: intake, advice, documents, ready_to_sign, appointment_booked, signed,"
            " withdrawn or expired; null for a draft."
        ),
    )
    documents: list[ChecklistItemEvidence] | None = Field(
        default=None,
        description="Since 1.2: the document checklist with each item's state; null before"
        " documents were requested.",
    )
    appointment: AppointmentEvidence | None = Field(
        default=None, description="Since 1.2: the branch signing appointment, if one is booked."
    )


class TroubleshootingEvidence(_ContractModel):
    """Where the customer got to in the troubleshooting tree."""

    error_code: NonEmptyStr = Field(..., description="Error code the customer reported.")
    tree: NonEmptyStr | None = Field(
        default=None, description="Troubleshooting tree id; null when the code is not known."
    )
    tree_title: StrictStr | None = Field(
        default=None, description="Human-readable title of the tree."
    )
    known_code: StrictBool = Field(..., description="Whether the error code has a tree.")
    cycles_completed: NonNegativeInt = Field(
        ..., description="Full passes through the tree that did not fix it."
    )
    cycle_limit: PositiveInt = Field(..., description="Passes allowed before handing off.")


def _fix_up_evidence_schema(schema: dict[str, Any], model_class: type[BaseModel]) -> None:
    _fix_up_schema(schema, model_class)
    # Further sections: any snake_case name, each a JSON object (see `Evidence`).
    schema["propertyNames"] = {"pattern": SNAKE_CASE_PATTERN}
    schema["additionalProperties"] = {"type": "object"}


class Evidence(_ContractModel):
    """Records the bot looked up or collected; null when not part of this conversation.

    Besides the typed sections below, a journey may add sections of its own, each a JSON object
    under a snake_case name, so a new journey needs no contract change. The desk shows evidence
    from `HandoffContext.evidence_view`, never by its section names.
    """

    order: OrderEvidence | None = Field(default=None, description="The order looked up, if any.")
    mortgage_application: ApplicationEvidence | None = Field(
        default=None, description="The mortgage application or intake draft, if any."
    )
    troubleshooting: TroubleshootingEvidence | None = Field(
        default=None, description="Troubleshooting progress, if any."
    )

    class Config:
        extra = Extra.allow
        schema_extra = staticmethod(_fix_up_evidence_schema)

    @root_validator(pre=True)
    def _further_sections_are_objects(cls, values: dict[str, Any]) -> dict[str, Any]:
        for name, section in values.items():
            if name in cls.__fields__:
                continue
            if not is_snake_case(str(name)):
                raise ValueError(f"evidence section names must be snake_case: {name!r}")
            if not isinstance(section, dict):
                raise ValueError(f"evidence section {name!r} must be a JSON object")
        return values

    def section(self, name: str) -> Any:
        """The section called `name`: a typed model, a further section's object, or None."""
        return self.__dict__.get(name)


class EvidenceScalar:
    """One displayed value: a string, number, boolean or null (timestamps as ISO strings)."""

    @classmethod
    def __get_validators__(cls) -> Any:
        """Accept JSON scalars as they are."""
        yield cls._require_scalar

    @classmethod
    def __modify_schema__(cls, field_schema: dict[str, Any]) -> None:
        """Describe the value as any JSON scalar."""
        field_schema.update(type=["string", "number", "boolean", "null"])

    @staticmethod
    def _require_scalar(value: Any) -> Any:
        if value is None or isinstance(value, (str, int, float)):
            return value
        raise ValueError("must be a string, number, boolean or null")


if TYPE_CHECKING:
    DisplayValue = str | int | float | bool | None
else:
    DisplayValue = EvidenceScalar


class EvidenceField(_ContractModel):
    """One labelled value of an evidence section, as the agent reads it."""

    label: NonEmptyStr = Field(..., description="What the value is, e.g. `Status`.")
    value: DisplayValue | None = Field(..., description="The value; null when not known.")
    personal: StrictBool = Field(
        default=False, description="Whether the value is personal data (listed in `pii`)."
    )


class EvidenceTable(_ContractModel):
    """Rows of an evidence section, e.g. an order's tracking scans."""

    caption: StrictStr = Field(..., description="What the table lists, e.g. `Tracking`.")
    columns: list[NonEmptyStr] = Field(..., description="Column headings.")
    rows: list[list[DisplayValue | None]] = Field(
        default_factory=list, description="One list of cells per row, in column order."
    )
    personal_columns: list[NonNegativeInt] = Field(
        default_factory=list,
        description="Indexes of the columns whose cells are personal data (listed in `pii`).",
    )


class EvidenceSection(_ContractModel):
    """One evidence section labelled for display, built by the journey that collected it."""

    key: SnakeCaseStr = Field(..., description="Stable name of the section, e.g. `order`.")
    title: NonEmptyStr = Field(..., description="Heading, e.g. `Order ORD-100005`.")
    fields: list[EvidenceField] = Field(default_factory=list, description="Labelled values.")
    tables: list[EvidenceTable] = Field(default_factory=list, description="Tables, in order.")


class Sentiment(_ContractModel):
    """How the customer feels, from VADER over their messages (recent ones weigh more)."""

    score: float = Field(..., ge=-1.0, le=1.0, description="Weighted VADER compound score.")
    label: SentimentLabel = Field(..., description="Label by VADER's +/-0.05 thresholds.")
    model: Literal["vader"] = Field(default="vader", description="Sentiment model used.")
    turns_scored: NonNegativeInt = Field(..., description="Customer messages that were scored.")


class HandoffContext(_ContractModel):
    """Everything the desk needs to take a conversation over from the bot."""

    schema_version: Literal["1.0", "1.1", "1.2"] = Field(
        ...,
        description=(
            "Version of this contract: the bot sends 1.2; 1.0 and 1.1 (without the fields"
            " later minor versions added) are still accepted. The desk rejects any other."
        ),
    )
    handoff_id: UUID = Field(
        ..., description="Unique id of this handoff; also the idempotency key of the POST."
    )
    created_at: UtcDateTime = Field(..., description="When the bot created the handoff (UTC).")
    conversation: Conversation = Field(..., description="The conversation being handed over.")
    trigger: Trigger = Field(..., description="Why the bot handed over.")
    routing: Routing = Field(..., description="Where to queue it.")
    flow: FlowName = Field(
        ...,
        description=(
            "The journey the customer was in, as the journey names itself, e.g. `order_status`;"
            " `none` when in no journey."
        ),
    )
    last_intent: NonEmptyStr | None = Field(
        default=None, description="Intent of the customer's latest message."
    )
    customer_name: NonEmptyStr | None = Field(
        default=None,
        description="The customer's name as the bot knows it (personal data); null if unknown.",
    )
    slots: dict[str, Any] = Field(
        default_factory=dict, description="Every Rasa slot that is set (null slots are omitted)."
    )
    transcript: list[Turn] = Field(
        default_factory=list, description="The conversation so far, oldest first."
    )
    attempts: list[Attempt] = Field(
        default_factory=list, description="What the bot tried before handing off, oldest first."
    )
    evidence: Evidence = Field(
        default_factory=Evidence, description="Records looked up or collected."
    )
    evidence_view: list[EvidenceSection] = Field(
        default_factory=list,
        description="The evidence labelled for display, one section per record, in order.",
    )
    sentiment: Sentiment = Field(..., description="The customer's mood.")
    summary: StrictStr = Field(..., description="Short paragraph for the agent (<= 600 chars).")
    pii: list[JsonPointer] = Field(
        default_factory=list,
        description=(
            "JSON Pointers (RFC 6901; `*` = any array index) of every field that holds personal"
            " data in this context, e.g. `/slots/email`, `/transcript/*/text`."
        ),
    )


def is_snake_case(value: str) -> bool:
    """Whether `value` is a valid reason code / outcome (snake_case)."""
    return re.fullmatch(SNAKE_CASE_PATTERN, value) is not None
