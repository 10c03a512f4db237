"""Names that Rasa relates by convention, kept in one place.

domain.yml, the training data and the actions must agree on these strings; a test checks that
every name here is declared in the domain.
"""

from __future__ import annotations

import enum
from typing import Final

from contract import applications, bot_actions, conversation_marks, handoff_opened

# --- Intents -------------------------------------------------------------------------------
INTENT_AFFIRM: Final = "affirm"
INTENT_DENY: Final = "deny"
INTENT_REQUEST_HUMAN: Final = "request_human"
INTENT_ASK_MORTGAGE_ADVICE: Final = "ask_mortgage_advice"
INTENT_CHECK_ORDER_STATUS: Final = "check_order_status"
INTENT_REPORT_ERROR_CODE: Final = "report_error_code"
INTENT_NLU_FALLBACK: Final = "nlu_fallback"

# --- Intents: mortgage documents ---------------------------------------------------------------
#: "I want to send my documents", "which documents do you need?", "what's still missing?"
INTENT_UPLOAD_DOCUMENTS: Final = "upload_documents"

# --- Entities ------------------------------------------------------------------------------
ENTITY_ORDER_NUMBER: Final = "order_number"
ENTITY_ERROR_CODE: Final = "error_code"

# --- Forms ---------------------------------------------------------------------------------
FORM_ORDER: Final = "order_form"
FORM_TROUBLESHOOTING: Final = "troubleshooting_form"
FORM_MORTGAGE: Final = "mortgage_form"
FORM_CSAT: Final = "csat_form"
FORM_CALLBACK: Final = "callback_form"

# --- Slots: order status ---------------------------------------------------------------------
SLOT_ORDER_NUMBER: Final = "order_number"
SLOT_ORDER_LOOKUP_FAILURES: Final = "order_lookup_failures"
SLOT_ORDER_RECORD: Final = "order_record"
SLOT_ORDER_LOOKUPS: Final = "order_lookups"
SLOT_ORDER_OUTCOME: Final = "order_outcome"
ORDER_OUTCOME_REPORTED: Final = "reported"
ORDER_OUTCOME_ESCALATE: Final = "escalate"
ORDER_OUTCOME_NOT_FOUND: Final = "not_found"

# --- Slots: troubleshooting -------------------------------------------------------------------
SLOT_ERROR_CODE: Final = "error_code"
SLOT_TROUBLESHOOTING_TREE: Final = "troubleshooting_tree"
SLOT_STEP_ANSWER: Final = "step_answer"
SLOT_TROUBLESHOOTING_STEP: Final = "troubleshooting_step"
SLOT_TROUBLESHOOTING_CYCLE: Final = "troubleshooting_cycle"
SLOT_TROUBLESHOOTING_ATTEMPTS: Final = "troubleshooting_attempts"
SLOT_TROUBLESHOOTING_OUTCOME: Final = "troubleshooting_outcome"
TROUBLESHOOTING_RESOLVED: Final = "resolved"
TROUBLESHOOTING_CYCLE_LIMIT: Final = "cycle_limit"

# --- Slots: mortgage intake --------------------------------------------------------------------
SLOT_APPLICANT_NAME: Final = "applicant_name"
SLOT_EMAIL: Final = "email"
SLOT_PROPERTY_VALUE: Final = "property_value"
SLOT_LOAN_AMOUNT: Final = "loan_amount"
SLOT_DEPOSIT_AMOUNT: Final = "deposit_amount"
SLOT_TERM_YEARS: Final = "term_years"
SLOT_ANNUAL_INCOME: Final = "annual_income"
SLOT_EMPLOYMENT_TYPE: Final = "employment_type"
SLOT_LOAN_TO_VALUE: Final = "loan_to_value"
SLOT_APPLICATION_REFERENCE: Final = "application_reference"
SLOT_MORTGAGE_INTERRUPTED: Final = "mortgage_interrupted"
#: Set by the advisor's hand-back (`contract.applications.NEXT_STEP_SLOT`).
SLOT_MORTGAGE_NEXT_STEP: Final = applications.NEXT_STEP_SLOT

# --- Slots: handoff ----------------------------------------------------------------------------
SLOT_HUMAN_OFFERED: Final = "human_offered"
SLOT_HANDOFF_REASON: Final = "handoff_reason"
#: What an out-of-scope support request was about (`refund`, `invoice_payment`...).
SLOT_SUPPORT_TOPIC: Final = "support_topic"
SLOT_HANDOFF_ID: Final = (
    handoff_opened.HANDOFF_ID_SLOT
)  # the open handoff (set while a person has the chat)
#: The handoff that just ended, whose rating or callback message the bot now collects.
SLOT_CLOSED_HANDOFF_ID: Final = "closed_handoff_id"
SLOT_CSAT_RATING: Final = "csat_rating"
SLOT_CSAT_COMMENT: Final = "csat_comment"
SLOT_CALLBACK_MESSAGE: Final = "callback_message"
SLOT_REQUESTED: Final = "requested_slot"

# --- Custom actions ----------------------------------------------------------------------------
ACTION_HANDOFF: Final = "action_handoff"
ACTION_ORDER_STATUS: Final = "action_order_status"
ACTION_START_TROUBLESHOOTING: Final = "action_start_troubleshooting"
ACTION_ASK_STEP_ANSWER: Final = "action_ask_step_answer"
ACTION_SUBMIT_MORTGAGE_APPLICATION: Final = "action_submit_mortgage_application"
ACTION_PAUSE_MORTGAGE: Final = "action_pause_mortgage"
ACTION_RESUME_MORTGAGE: Final = "action_resume_mortgage"
ACTION_NLU_FALLBACK: Final = "action_nlu_fallback"
ACTION_DECLINE_HUMAN: Final = "action_decline_human"
ACTION_CANCEL_FLOW: Final = "action_cancel_flow"
ACTION_START_OVER: Final = "action_start_over"
#: Says plainly that a support request is not handled here and offers customer service.
ACTION_OFFER_CUSTOMER_SERVICE: Final = "action_offer_customer_service"
ACTION_SUBMIT_CSAT: Final = "action_submit_csat"
ACTION_SUBMIT_CALLBACK: Final = "action_submit_callback"
# The desk executes these three; their names are the contract's (`contract.bot_actions`).
ACTION_WELCOME_BACK: Final = bot_actions.ACTION_WELCOME_BACK
ACTION_ASK_CALLBACK: Final = bot_actions.ACTION_ASK_CALLBACK
ACTION_HANDOFF_CANCELLED: Final = bot_actions.ACTION_HANDOFF_CANCELLED
ACTION_DOCUMENT_RECEIVED: Final = bot_actions.ACTION_DOCUMENT_RECEIVED
ACTION_DOCUMENT_REVIEWED: Final = bot_actions.ACTION_DOCUMENT_REVIEWED
#: What comes next for the customer's application, by its stage (after resuming, after an
#: advisor hands back): documents, a branch booking, or where things stand.
ACTION_CONTINUE_APPLICATION: Final = "action_continue_application"
#: Says which documents are still missing and asks for the next one, with the upload control.
ACTION_ASK_NEXT_DOCUMENT: Final = "action_ask_next_document"
VALIDATE_ORDER_FORM: Final = f"validate_{FORM_ORDER}"
VALIDATE_TROUBLESHOOTING_FORM: Final = f"validate_{FORM_TROUBLESHOOTING}"
VALIDATE_MORTGAGE_FORM: Final = f"validate_{FORM_MORTGAGE}"
VALIDATE_CSAT_FORM: Final = f"validate_{FORM_CSAT}"
VALIDATE_CALLBACK_FORM: Final = f"validate_{FORM_CALLBACK}"

# --- Responses ---------------------------------------------------------------------------------
UTTER_OFFER_HUMAN: Final = "utter_offer_human"

# --- Handoff reason codes (content/handoff_routing.yml must route every one) -----------------
REASON_ORDER_DELAYED: Final = "order_delayed"
REASON_ORDER_LOST: Final = "order_lost"
REASON_ORDER_NOT_FOUND: Final = "order_not_found"
REASON_CYCLE_LIMIT: Final = "cycle_limit"
REASON_NEEDS_ADVICE: Final = "needs_advice"
REASON_CUSTOMER_REQUEST: Final = "customer_request"
REASON_NLU_FALLBACK: Final = "nlu_fallback"
REASON_ACTION_ERROR: Final = "action_error"
#: A support request the assistant does not handle (a refund, an invoice...); the customer
#: accepted customer service. The topic is in `support_topic`.
REASON_OUT_OF_SCOPE_REQUEST: Final = "out_of_scope_request"
REQUIRED_REASON_CODES: Final = frozenset(
    {
        REASON_OUT_OF_SCOPE_REQUEST,
        REASON_ORDER_DELAYED,
        REASON_ORDER_LOST,
        REASON_ORDER_NOT_FOUND,
        REASON_CYCLE_LIMIT,
        REASON_NEEDS_ADVICE,
        REASON_CUSTOMER_REQUEST,
        REASON_NLU_FALLBACK,
        REASON_ACTION_ERROR,
    }
)

# --- Journeys (the `flow` field of the handoff context) -----------------------------------------
FLOW_ORDER_STATUS: Final = "order_status"
FLOW_TROUBLESHOOTING: Final = "troubleshooting"
FLOW_MORTGAGE: Final = "mortgage"
FLOW_NONE: Final = "none"

# === Resuming an application, and its branch appointment (issue 10, bot side) ===============
# Kept in one block so the other bot engineer's additions merge beside it. The intake's
# `action_resume_mortgage` (back to the form after a topic switch) is another thing: these
# names say "application" and "appointment".
INTENT_RESUME_APPLICATION: Final = "resume_application"
INTENT_BOOK_APPOINTMENT: Final = "book_appointment"
INTENT_RESCHEDULE_APPOINTMENT: Final = "reschedule_appointment"
INTENT_CANCEL_APPOINTMENT: Final = "cancel_appointment"
#: Button payloads of the booking form: `/choose_branch{"appointment_branch": key}` and
#: `/choose_slot{"appointment_slot": iso start}`.
INTENT_CHOOSE_BRANCH: Final = "choose_branch"
INTENT_CHOOSE_SLOT: Final = "choose_slot"
ENTITY_APPLICATION_REFERENCE: Final = "application_reference"
ENTITY_APPOINTMENT_BRANCH: Final = "appointment_branch"
ENTITY_APPOINTMENT_SLOT: Final = "appointment_slot"
FORM_RESUME_APPLICATION: Final = "resume_application_form"
FORM_BRANCH_BOOKING: Final = "branch_booking_form"
#: The reference the customer gives; `application_reference` is set only once verified.
SLOT_RESUME_REFERENCE: Final = "resume_reference"
SLOT_RESUME_EMAIL: Final = "resume_email"
SLOT_RESUME_CODE: Final = "resume_code"
#: Tries left after a wrong code (None before the first one), for the re-ask's wording.
SLOT_RESUME_ATTEMPTS_LEFT: Final = "resume_attempts_left"
#: How the resume form ended (`ResumeVerification`): the rules carry on only when verified.
SLOT_RESUME_VERIFICATION: Final = "resume_verification"
SLOT_APPOINTMENT_BRANCH: Final = "appointment_branch"
SLOT_APPOINTMENT_SLOT: Final = "appointment_slot"
#: The first day of the slots offered ("other days" moves it on); None: from today.
SLOT_APPOINTMENT_SLOTS_FROM: Final = "appointment_slots_from"
#: What the customer asked of the appointment (`AppointmentRequest`), once
#: `action_start_booking` checked it can be done: the rules start the booking form, the
#: resume form, or the cancellation's question from it.
SLOT_APPOINTMENT_REQUEST: Final = "appointment_request"
VALIDATE_RESUME_APPLICATION_FORM: Final = f"validate_{FORM_RESUME_APPLICATION}"
VALIDATE_BRANCH_BOOKING_FORM: Final = f"validate_{FORM_BRANCH_BOOKING}"
ACTION_ASK_RESUME_REFERENCE: Final = f"action_ask_{SLOT_RESUME_REFERENCE}"
ACTION_ASK_RESUME_EMAIL: Final = f"action_ask_{SLOT_RESUME_EMAIL}"
ACTION_ASK_RESUME_CODE: Final = f"action_ask_{SLOT_RESUME_CODE}"
ACTION_ASK_APPOINTMENT_BRANCH: Final = f"action_ask_{SLOT_APPOINTMENT_BRANCH}"
ACTION_ASK_APPOINTMENT_SLOT: Final = f"action_ask_{SLOT_APPOINTMENT_SLOT}"
ACTION_START_BOOKING: Final = "action_start_booking"
ACTION_CANCEL_APPOINTMENT: Final = "action_cancel_appointment"


class ResumeVerification(str, enum.Enum):
    """The values of `resume_verification`: how the resume form ended."""

    VERIFIED = "verified"  # the desk granted it: carry on with the application
    LOCKED = "locked"  # too many failures: the form stops, the customer is told until when


class AppointmentRequest(str, enum.Enum):
    """The values of `appointment_request`."""

    BOOK = "book"
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    RESUME_FIRST = "resume_first"  # no application known in this chat: verify it first
    REFUSED = "refused"  # not possible at the application's stage (the customer was told why)


# === The bot-only rating at the end of a resolved journey (issue 11, actions/bot_csat.py) ====
# The form's and the rating slot's names are the analytics' marks (`contract.conversation_marks`):
# the form's activation counts as "asked", a rating in the slot as "rated".
FORM_BOT_CSAT: Final = conversation_marks.FORM_BOT_CSAT
SLOT_BOT_CSAT_RATING: Final = conversation_marks.SLOT_BOT_CSAT_RATING
#: With affirm, deny and nlu_fallback, the intents a message answering the rating may have.
INTENT_INFORM: Final = "inform"
INTENT_CANCEL: Final = "cancel"
ACTION_OFFER_BOT_CSAT: Final = "action_offer_bot_csat"
ACTION_ASK_BOT_CSAT_RATING: Final = f"action_ask_{SLOT_BOT_CSAT_RATING}"
ACTION_SUBMIT_BOT_CSAT: Final = "action_submit_bot_csat"
VALIDATE_BOT_CSAT_FORM: Final = f"validate_{FORM_BOT_CSAT}"
