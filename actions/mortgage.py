"""Journey 3, mortgage intake (web chat): collect and check the application, then store it.

Advice (which product, fixed or variable, affordability) is never given by the bot: those
questions go to a mortgage advisor by rule (`action_handoff`, reason `needs_advice`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action
from rasa_sdk.types import DomainDict

from actions.constants import (
    ACTION_ASK_NEXT_DOCUMENT,
    ACTION_DOCUMENT_RECEIVED,
    ACTION_DOCUMENT_REVIEWED,
    ACTION_PAUSE_MORTGAGE,
    ACTION_RESUME_MORTGAGE,
    ACTION_SUBMIT_MORTGAGE_APPLICATION,
    FLOW_MORTGAGE,
    FORM_MORTGAGE,
    INTENT_ASK_MORTGAGE_ADVICE,
    INTENT_UPLOAD_DOCUMENTS,
    REASON_NEEDS_ADVICE,
    SLOT_ANNUAL_INCOME,
    SLOT_APPLICANT_NAME,
    SLOT_APPLICATION_REFERENCE,
    SLOT_DEPOSIT_AMOUNT,
    SLOT_EMAIL,
    SLOT_EMPLOYMENT_TYPE,
    SLOT_LOAN_AMOUNT,
    SLOT_LOAN_TO_VALUE,
    SLOT_MORTGAGE_INTERRUPTED,
    SLOT_PROPERTY_VALUE,
    SLOT_TERM_YEARS,
    VALIDATE_MORTGAGE_FORM,
)
from actions.desk_client import DeskCallFailed
from actions.failsafe import GuardedFormValidationAction, apologise_on_failure
from actions.handoff.delivery import desk_client
from actions.handoff.journey import Journey, json_record, labelled_section, pick_fields
from actions.handoff.summary import clip, humanize
from actions.mortgage_intake import (
    Validated,
    format_money,
    normalize_employment_type,
    validate_annual_income,
    validate_applicant_name,
    validate_email,
    validate_loan_or_deposit,
    validate_property_value,
    validate_term_years,
)
from contract.applications import ApplicationRecord, MortgageIntake, NewApplication
from contract.documents import DocumentState
from contract.handoff_context import (
    ApplicationEvidence,
    Evidence,
    EvidenceSection,
    EvidenceTable,
    HandoffContext,
)

logger = logging.getLogger(__name__)


def _decimal(value: Any) -> Decimal:
    # Money is kept in float slots (JSON); it is turned back into Decimal through its text.
    return Decimal(str(value))


def _slot_result(
    slot: str,
    result: Validated[Any],
    dispatcher: CollectingDispatcher,
    to_slot: Callable[[Any], Any] = lambda value: value,
) -> dict[str, Any]:
    """The slot's new value, or None (re-ask) after telling the customer what was wrong."""
    if result.error is not None:
        dispatcher.utter_message(text=result.error)
        return {slot: None}
    return {slot: to_slot(result.value)}


class ValidateMortgageForm(GuardedFormValidationAction):
    """Checks each answer of the intake; understands amounts like "250k" and "£250,000"."""

    def name(self) -> str:
        return VALIDATE_MORTGAGE_FORM

    async def validate_applicant_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return _slot_result(SLOT_APPLICANT_NAME, validate_applicant_name(str(value)), dispatcher)

    async def validate_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return _slot_result(SLOT_EMAIL, validate_email(str(value)), dispatcher)

    async def validate_property_value(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return _slot_result(
            SLOT_PROPERTY_VALUE, validate_property_value(str(value)), dispatcher, float
        )

    async def validate_loan_amount(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Takes the loan, or the deposit, and derives the other and the loan-to-value."""
        result = validate_loan_or_deposit(str(value), tracker.get_slot(SLOT_PROPERTY_VALUE))
        if result.error is not None or result.value is None:
            dispatcher.utter_message(text=result.error or "Please give an amount, e.g. 200k.")
            return {SLOT_LOAN_AMOUNT: None}
        terms = result.value
        dispatcher.utter_message(
            text=f"Thanks: borrowing {format_money(terms.loan_amount)} with a deposit of "
            f"{format_money(terms.deposit_amount)}, a loan-to-value of "
            f"{terms.loan_to_value * 100:.1f}%."
        )
        return {
            SLOT_LOAN_AMOUNT: float(terms.loan_amount),
            SLOT_DEPOSIT_AMOUNT: float(terms.deposit_amount),
            SLOT_LOAN_TO_VALUE: float(terms.loan_to_value),
        }

    async def validate_term_years(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return _slot_result(SLOT_TERM_YEARS, validate_term_years(str(value)), dispatcher, float)

    async def validate_annual_income(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return _slot_result(
            SLOT_ANNUAL_INCOME, validate_annual_income(str(value)), dispatcher, float
        )

    async def validate_employment_type(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return _slot_result(SLOT_EMPLOYMENT_TYPE, normalize_employment_type(str(value)), dispatcher)


def intake_from_slots(tracker: Tracker) -> MortgageIntake:
    """The completed form as the typed intake the application store takes."""
    return MortgageIntake(
        applicant_name=str(tracker.get_slot(SLOT_APPLICANT_NAME)),
        email=str(tracker.get_slot(SLOT_EMAIL)),
        property_value=_decimal(tracker.get_slot(SLOT_PROPERTY_VALUE)),
        deposit_amount=_decimal(tracker.get_slot(SLOT_DEPOSIT_AMOUNT)),
        loan_amount=_decimal(tracker.get_slot(SLOT_LOAN_AMOUNT)),
        term_years=int(tracker.get_slot(SLOT_TERM_YEARS)),
        annual_income=_decimal(tracker.get_slot(SLOT_ANNUAL_INCOME)),
        employment_type=str(tracker.get_slot(SLOT_EMPLOYMENT_TYPE)),
    )


async def _store_application(
    intake: MortgageIntake, channel: str, sender_id: str
) -> ApplicationRecord:
    application = NewApplication(intake=intake, origin_channel=channel, origin_sender_id=sender_id)
    return await desk_client().create_application(application)


async def stored_application_evidence(reference: str | None) -> dict[str, Any] | None:
    """The stored application as evidence, read from the desk; None if there is none.

    Also None when the desk cannot be reached: the handoff then goes to the outbox with the
    draft from the form's slots rather than failing.
    """
    if not reference:
        return None
    try:
        application = await desk_client().get_application(reference)
    except DeskCallFailed as error:
        logger.warning("Application %s could not be read from the desk: %s", reference, error)
        return None
    return application.to_evidence() if application is not None else None


def draft_application(tracker: Tracker) -> dict[str, Any]:
    """The intake so far, as evidence for an advisor when no application exists yet."""
    return {
        "reference": None,
        "status": "draft",
        "applicant_name": tracker.get_slot(SLOT_APPLICANT_NAME),
        "email": tracker.get_slot(SLOT_EMAIL),
        "property_value": tracker.get_slot(SLOT_PROPERTY_VALUE),
        "deposit_amount": tracker.get_slot(SLOT_DEPOSIT_AMOUNT),
        "loan_amount": tracker.get_slot(SLOT_LOAN_AMOUNT),
        "loan_to_value": tracker.get_slot(SLOT_LOAN_TO_VALUE),
        "term_years": tracker.get_slot(SLOT_TERM_YEARS),
        "annual_income": tracker.get_slot(SLOT_ANNUAL_INCOME),
        "employment_type": tracker.get_slot(SLOT_EMPLOYMENT_TYPE),
        "currency": "GBP",
        "created_at": None,
        # Since 1.2; none of these exist before the application is stored.
        "stage": None,
        "documents": None,
        "appointment": None,
    }


class ActionSubmitMortgageApplication(Action):
    """Stores the application and gives the customer its reference."""

    def name(self) -> str:
        return ACTION_SUBMIT_MORTGAGE_APPLICATION

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        channel = tracker.get_latest_input_channel() or "unknown"
        application = await _store_application(
            intake_from_slots(tracker), channel, tracker.sender_id
        )
        dispatcher.utter_message(
            text=f"Thank you, {application.applicant_name}. Your application is saved with "
            f"reference {application.reference}: borrowing {format_money(application.loan_amount)} "
            f"over {application.term_years} years on a {format_money(application.property_value)} "
            f"property (loan-to-value {application.loan_to_value * 100:.1f}%). Keep the "
            "reference: our advisors, and the branch where you'll sign, will use it. "
            "If you'd like advice on which mortgage suits you, just ask and I'll bring in "
            "an advisor."
        )
        return [
            SlotSet(SLOT_APPLICATION_REFERENCE, application.reference),
            SlotSet(SLOT_MORTGAGE_INTERRUPTED, False),
        ]


class ActionPauseMortgage(Action):
    """The customer asks about something else mid-intake: keep the answers, come back later."""

    def name(self) -> str:
        return ACTION_PAUSE_MORTGAGE

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(
            text="Sure, let's look at that first. I'll keep your mortgage answers and we'll "
            "come back to the application afterwards."
        )
        return [SlotSet(SLOT_MORTGAGE_INTERRUPTED, True)]


class ActionResumeMortgage(Action):
    """Back to the intake where the customer left it."""

    def name(self) -> str:
        return ACTION_RESUME_MORTGAGE

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text="Now, back to your mortgage application.")
        return [SlotSet(SLOT_MORTGAGE_INTERRUPTED, False)]


# --- What the handoff gets from this journey ---------------------------------------------------

#: The evidence section holding the application's timeline (a further section: the contract's
#: `ApplicationEvidence` has no timeline, and any journey may add a JSON object of its own).
TIMELINE_SECTION = "mortgage_timeline"
#: The newest timeline entries handed over; older ones are counted (`omitted`), not sent.
MAX_TIMELINE_ENTRIES = 50
#: The longest detail shown for one timeline entry.
MAX_DETAIL_CHARS = 200

#: Application fields that are personal data (and so listed in the context's `pii`): the
#: applicant, and each document's rejection reason (free text written by a person).
PERSONAL_APPLICATION_FIELDS = (
    "applicant_name",
    "email",
    "annual_income",
    "documents/*/rejection_reason",
)
#: Timeline fields that are personal data: who acted (a name) and the detail (notes, reasons,
#: file names).
PERSONAL_TIMELINE_FIELDS = ("entries/*/actor", "entries/*/detail")
#: A stored application's `status` is its stage (a draft's is "draft"), so no "Stage" field.
APPLICATION_LABELS = (
    ("reference", "Reference"),
    ("status", "Status"),
    ("applicant_name", "Applicant"),
    ("email", "E-mail"),
    ("property_value", "Property value"),
    ("deposit_amount", "Deposit"),
    ("loan_amount", "Loan"),
    ("loan_to_value", "Loan-to-value"),
    ("term_years", "Term (years)"),
    ("annual_income", "Annual income"),
    ("employment_type", "Employment"),
    ("currency", "Currency"),
    ("created_at", "Submitted"),
)
APPOINTMENT_LABELS = (
    ("branch_name", "Branch"),
    ("label", "When"),
    ("starts_at", "Starts (UTC)"),
    ("state", "State"),
)
DOCUMENT_COLUMNS = ("Document", "State", "Reason")
#: When, where, who, what: one timeline entry; the detail apart, as it is personal data.
TIMELINE_COLUMNS = ("When", "Where", "Who", "What", "Detail")
_NEEDS_UPLOAD = frozenset({DocumentState.MISSING.value, DocumentState.REJECTED.value})


def application_sections(application: Mapping[str, Any]) -> dict[str, Any]:
    """The evidence sections of a stored application (`ApplicationRecord.to_evidence`) or of
    a draft (`draft_application`): the application, and its timeline if it has one."""
    fields = pick_fields(ApplicationEvidence, application)
    # The contract's null: no documents were requested yet (the record lists none).
    fields["documents"] = fields.get("documents") or None
    sections: dict[str, Any] = {"mortgage_application": ApplicationEvidence.parse_obj(fields)}
    history = application.get("history") or []
    if history:
        entries = list(history)[-MAX_TIMELINE_ENTRIES:]
        sections[TIMELINE_SECTION] = {
            "reference": application.get("reference"),
            "entries": entries,
            "omitted": len(history) - len(entries),
        }
    return sections


async def mortgage_evidence(tracker: Tracker, flow: str) -> dict[str, Any]:
    """The stored application with its documents, appointment and timeline, or the intake so
    far, when the customer is applying."""
    reference = tracker.get_slot(SLOT_APPLICATION_REFERENCE)
    if not (reference or flow == FLOW_MORTGAGE or tracker.get_slot(SLOT_APPLICANT_NAME)):
        return {}
    application = await stored_application_evidence(reference) or draft_application(tracker)
    return application_sections(application)


def _titles(documents: Sequence[Any]) -> str:
    titles = [document.title for document in documents]
    return titles[0] if len(titles) == 1 else f"{', '.join(titles[:-1])} and {titles[-1]}"


def mortgage_sentences(context: HandoffContext) -> list[str]:
    """The application's reference (or that it is a draft), stage and loan-to-value; which
    documents are still needed; the branch appointment."""
    application = context.evidence.mortgage_application
    if application is None:
        return []
    if application.reference and application.stage:
        text = f"Mortgage application {application.reference} is at the "
        text += f"{humanize(application.stage)} stage"
    elif application.reference:
        text = f"Mortgage application {application.reference} is {humanize(application.status)}"
    else:
        text = f"Mortgage application not yet submitted ({humanize(application.status)})"
    if application.loan_to_value is not None:
        text += f", loan-to-value {application.loan_to_value * 100:.1f}%"
    sentences = [text + "."]
    documents = application.documents or []
    needed = [document for document in documents if document.state in _NEEDS_UPLOAD]
    if needed:
        sentences.append(f"Documents still needed: {_titles(needed)}.")
    elif documents and all(d.state == DocumentState.ACCEPTED.value for d in documents):
        sentences.append("All documents are accepted.")
    elif documents:
        sentences.append("All documents are sent and waiting for review.")
    appointment = application.appointment
    if appointment is not None:
        sentences.append(
            f"Branch signing {humanize(appointment.state)}: {appointment.branch_name}, "
            f"{appointment.label}."
        )
    return sentences


def documents_table(record: Mapping[str, Any]) -> EvidenceTable | None:
    """The checklist with each document's state and rejection reason (personal data)."""
    documents = record.get("documents")
    if not documents:
        return None
    return EvidenceTable(
        caption="Documents",
        columns=list(DOCUMENT_COLUMNS),
        rows=[
            [document["title"], humanize(document["state"]), document.get("rejection_reason")]
            for document in documents
        ],
        personal_columns=[DOCUMENT_COLUMNS.index("Reason")],
    )


def entry_detail(detail: Any) -> str | None:
    """A timeline entry's detail on one line: "item: payslips; reason: unreadable"."""
    if not isinstance(detail, Mapping) or not detail:
        return None
    parts = [
        f"{humanize(str(key))}: {value}"
        for key, value in detail.items()
        if isinstance(value, str | int | float) and not isinstance(value, bool)
    ]
    return clip("; ".join(parts))[:MAX_DETAIL_CHARS] or None


def _who(entry: Mapping[str, Any]) -> str:
    kind = humanize(str(entry.get("actor_kind") or "unknown"))
    actor = entry.get("actor")
    return f"{actor} ({kind})" if actor else kind


def timeline_section(timeline: Mapping[str, Any]) -> EvidenceSection:
    """The whole story, oldest first: when, where, who, what (and the detail)."""
    entries = timeline.get("entries") or []
    rows: list[list[Any]] = [
        [
            entry.get("occurred_at"),
            humanize(str(entry.get("touchpoint") or "")),
            _who(entry),
            humanize(str(entry.get("kind") or "")),
            entry_detail(entry.get("detail")),
        ]
        for entry in entries
        if isinstance(entry, Mapping)
    ]
    omitted = timeline.get("omitted") or 0
    caption = "Timeline" + (f" (the {omitted} oldest entries not shown)" if omitted else "")
    table = EvidenceTable(
        caption=caption,
        columns=list(TIMELINE_COLUMNS),
        rows=rows,
        personal_columns=[TIMELINE_COLUMNS.index("Who"), TIMELINE_COLUMNS.index("Detail")],
    )
    reference = timeline.get("reference") or ""
    return EvidenceSection(
        key=TIMELINE_SECTION, title=f"Timeline {reference}".strip(), tables=[table]
    )


def mortgage_view(evidence: Evidence) -> list[EvidenceSection]:
    """The application with its documents, the branch appointment and the timeline, labelled
    for the agent."""
    application = evidence.mortgage_application
    if application is None:
        return []
    title = f"Mortgage application {application.reference or '(draft)'}"
    record = json_record(application)
    table = documents_table(record)
    sections = [
        labelled_section(
            "mortgage",
            title,
            record,
            APPLICATION_LABELS,
            personal=PERSONAL_APPLICATION_FIELDS,
            tables=[table] if table is not None else [],
        )
    ]
    if record.get("appointment"):
        sections.append(
            labelled_section(
                "mortgage_appointment",
                "Branch appointment",
                record["appointment"],
                APPOINTMENT_LABELS,
            )
        )
    timeline = evidence.section(TIMELINE_SECTION)
    if isinstance(timeline, Mapping):
        sections.append(timeline_section(timeline))
    return sections


#: Words that make a message a mortgage matter (see `Journey.context_words`).
MORTGAGE_WORDS: Final = re.compile(
    r"\b(?:re-?mortgag\w*|mortgag\w*|mortage\w*|morgage\w*|home\s?loans?|house|houses|home"
    r"|flat|apartment|property|properties|first[- ]time buyers?|buy[- ]to[- ]let"
    r"|fixed|variable|tracker (?:rate|mortgage|deal)|interest[- ]only|ltv|loan[- ]to[- ]value"
    r"|equity|conveyanc\w*|stamp duty|\d+[- ]?(?:year|yr) fix\w*|advisors?|advisers?)\b",
    re.IGNORECASE,
)

JOURNEY = Journey(
    flow=FLOW_MORTGAGE,
    phrase="was applying for a mortgage",
    forms=frozenset({FORM_MORTGAGE}),
    actions=frozenset(
        {
            ACTION_SUBMIT_MORTGAGE_APPLICATION,
            ACTION_ASK_NEXT_DOCUMENT,
            ACTION_DOCUMENT_RECEIVED,
            ACTION_DOCUMENT_REVIEWED,
        }
    ),
    # Asking for advice, or about the documents, is a mortgage matter wherever the
    # conversation was.
    intents=frozenset({INTENT_ASK_MORTGAGE_ADVICE, INTENT_UPLOAD_DOCUMENTS}),
    handoff_intents={INTENT_ASK_MORTGAGE_ADVICE: REASON_NEEDS_ADVICE},
    # Generic money or timing words ("money back", "how soon", "afford") are not mortgage
    # words: such a message is confirmed before it reaches the mortgage advisors.
    context_words=MORTGAGE_WORDS,
    confirm_question=(
        "Is your question about a mortgage or a home loan? If it is, I'll connect you with one "
        "of our mortgage advisors. If not, I can check an order or help with an error code."
    ),
    reason_details={
        REASON_NEEDS_ADVICE: "The customer asked for mortgage advice the bot must not give.",
    },
    collect_evidence=mortgage_evidence,
    summarize=mortgage_sentences,
    customer_name=lambda evidence: (
        evidence.mortgage_application.applicant_name if evidence.mortgage_application else None
    ),
    evidence_view=mortgage_view,
    personal_slots=(SLOT_APPLICANT_NAME, SLOT_EMAIL, SLOT_ANNUAL_INCOME),
    personal_evidence={
        "mortgage_application": PERSONAL_APPLICATION_FIELDS,
        TIMELINE_SECTION: PERSONAL_TIMELINE_FIELDS,
    },
)
