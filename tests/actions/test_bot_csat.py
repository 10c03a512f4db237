"""The bot-only rating: when it is asked, what counts as a rating, skipping, moving on."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActiveLoop,
    SessionStarted,
    SlotSet,
)
from rasa_sdk.executor import CollectingDispatcher

from actions.bot_csat import (
    REASK_TEXT,
    ActionAskBotCsatRating,
    ActionOfferBotCsat,
    ActionSubmitBotCsat,
    ValidateBotCsatForm,
    offer_rating,
)
from actions.conversation import HELP_HINT
from contract.conversation_marks import INTENT_REQUEST_HUMAN, JOURNEY_MARKS
from tests.actions.conftest import (
    Conversation,
    plain,
    run_action,
    slot_event,
    texts,
)

FORM = "bot_csat_form"
SLOT = "bot_csat_rating"
QUESTION = "Before you go: how did I do, from 1 (poor) to 5 (excellent)? You can skip this."
#: The events that start the form waiting for the answer, logged as if it had run and asked.
ASKED = [
    {"event": "active_loop", "name": FORM},
    slot_event("requested_slot", SLOT),
    {"event": "action", "name": FORM, "policy": None, "confidence": None},
]


def resolved_order() -> Conversation:
    """An order found and reported as fine: the journey's resolved end."""
    return (
        Conversation()
        .user("where is my order ORD-100002?", "check_order_status")
        .form("order_form", None)
        .ran("action_order_status", [slot_event("order_outcome", "reported")])
    )


def asking() -> Conversation:
    """The resolved order, and the rating form asking."""
    conversation = resolved_order()
    conversation._add(ActiveLoop(FORM), SlotSet("requested_slot", SLOT), ActionExecuted(FORM))
    return conversation


def new_session(conversation: Conversation, **carried: Any) -> Conversation:
    """The customer comes back after the session expired; the domain carries slots over."""
    conversation._add(ActionExecuted("action_session_start"), SessionStarted())
    conversation.slots(**carried)
    conversation._add(ActionExecuted("action_listen"))
    return conversation


async def offer(conversation: Conversation) -> bool:
    """Whether the action at a resolved end asks: the question and the form's start, or
    neither."""
    result = await run_action(ActionOfferBotCsat(), conversation.tracker())
    if not result.events:
        assert result.messages == []
        return False
    assert texts(result.messages) == [QUESTION]
    assert plain(result.events) == ASKED
    return True


async def validate(conversation: Conversation) -> list[dict[str, Any]]:
    """What the form records for the customer's latest message (the validation action reads
    the answer itself: the slot's mapping is custom)."""
    result = await run_action(ValidateBotCsatForm(), conversation.form_tracker(FORM))
    assert result.messages == []
    return plain(result.events)


# --- When it is asked -------------------------------------------------------------------------


async def test_a_journey_the_bot_resolved_alone_gets_the_rating() -> None:
    assert await offer(resolved_order()) is True


@pytest.mark.parametrize(
    "slots",
    [{"handoff_id": "4c1f0d2e"}, {"closed_handoff_id": "4c1f0d2e"}],
    ids=["a person has the chat", "just handed back"],
)
async def test_not_asked_when_a_person_is_part_of_the_conversation(slots: dict[str, str]) -> None:
    assert await offer(resolved_order().slots(**slots)) is False


async def test_not_asked_after_a_handoff_earlier_in_the_session() -> None:
    conversation = (
        Conversation()
        .user("agent", INTENT_REQUEST_HUMAN)
        .ran("action_handoff", [slot_event("handoff_id", None)])  # the desk was unreachable
        .user("where is my order ORD-100002?", "check_order_status")
        .form("order_form", None)
        .ran("action_order_status", [slot_event("order_outcome", "reported")])
    )

    assert await offer(conversation) is False


async def test_a_handoff_in_an_earlier_session_does_not_count() -> None:
    earlier = Conversation().user("agent", INTENT_REQUEST_HUMAN).ran("action_handoff")
    conversation = new_session(earlier).user("where is my order?", "check_order_status")
    conversation.form("order_form", None).ran(
        "action_order_status", [slot_event("order_outcome", "reported")]
    )

    assert await offer(conversation) is True


async def test_asked_at_most_once_per_session() -> None:
    conversation = asking().user("5").ran("bot_csat_form", [slot_event(SLOT, 5.0)])
    conversation.user("my router shows E-1042", "report_error_code").ran(
        "utter_troubleshooting_resolved"
    )

    assert await offer(conversation) is False


async def test_asked_again_in_a_new_session_whatever_the_slots_carried_over() -> None:
    # Slots carry over (domain.yml), so "asked" is read from this session's events instead.
    conversation = new_session(asking().user("4"), bot_csat_rating=4.0)
    conversation.user("where is my order?", "check_order_status").form("order_form", None)
    conversation.ran("action_order_status", [slot_event("order_outcome", "reported")])

    assert await offer(conversation) is True


async def test_not_asked_when_the_order_question_interrupted_a_mortgage_intake() -> None:
    # The intake resumes instead (data/rules/mortgage.yml).
    assert await offer(resolved_order().slots(mortgage_interrupted=True)) is False


async def test_the_question_is_asked_in_the_same_call_that_ends_the_journey() -> None:
    dispatcher = CollectingDispatcher()

    events = offer_rating(dispatcher, resolved_order().tracker())

    assert texts(dispatcher.messages) == [QUESTION]
    assert [button["title"] for button in dispatcher.messages[0]["buttons"]][-1] == "Skip"
    assert plain(events) == ASKED


# --- The question -----------------------------------------------------------------------------


async def test_the_question_offers_the_numbers_and_skip() -> None:
    tracker = resolved_order().form(FORM, SLOT).tracker()

    result = await run_action(ActionAskBotCsatRating(), tracker)

    assert texts(result.messages) == [QUESTION]
    buttons = [(button["title"], button["payload"]) for button in result.messages[0]["buttons"]]
    assert buttons == [
        ("1", "1"),
        ("2", "2"),
        ("3", "3"),
        ("4", "4"),
        ("5", "5"),
        ("Skip", "/deny"),
    ]
    assert result.events == []


async def test_after_an_answer_that_is_not_a_rating_the_re_ask_says_what_is_needed() -> None:
    tracker = asking().user("meh", "nlu_fallback").tracker()

    result = await run_action(ActionAskBotCsatRating(), tracker)

    assert texts(result.messages) == [REASK_TEXT]
    assert [button["title"] for button in result.messages[0]["buttons"]][-1] == "Skip"


# --- The answer -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent", "rating"),
    [
        ("5", "inform", 5.0),
        ("1", "inform", 1.0),
        ("4 stars", "inform", 4.0),
        ("three", "nlu_fallback", 3.0),
        ("2", "provide_order_number", 2.0),  # a button's payload, whatever NLU made of it
    ],
)
async def test_a_rating_is_recorded_as_a_number(text: str, intent: str, rating: float) -> None:
    assert await validate(asking().user(text, intent)) == [slot_event(SLOT, rating)]


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("/deny", "deny"),  # the Skip button
        ("no thanks", "deny"),
        ("never mind", "cancel"),
        ("skip", "nlu_fallback"),  # NLU does not know the word: the words say it
        ("Skip it.", "affirm"),
    ],
)
async def test_a_skip_ends_the_form_and_records_no_rating(text: str, intent: str) -> None:
    events = await validate(asking().user(text, intent))

    # Nothing but an empty rating: the raw answer never reaches the slot the analytics read.
    assert events == [slot_event(SLOT, None), slot_event("requested_slot", None)]


async def test_the_first_answer_that_is_not_a_rating_is_asked_again() -> None:
    events = await validate(asking().user("6", "inform"))

    # The form stays on the question; ActionAskBotCsatRating re-asks.
    assert events == [slot_event(SLOT, None)]


async def test_a_second_answer_that_is_not_a_rating_ends_the_form_without_one() -> None:
    conversation = asking().user("great", "nlu_fallback")
    conversation.ran("bot_csat_form", [slot_event(SLOT, None)]).user("really great", "nlu_fallback")

    events = await validate(conversation)

    assert events == [slot_event(SLOT, None), slot_event("requested_slot", None)]


async def test_a_rating_after_the_re_ask_is_recorded() -> None:
    conversation = asking().user("great", "nlu_fallback")
    conversation.ran("bot_csat_form", [slot_event(SLOT, None)]).user("4")

    assert await validate(conversation) == [slot_event(SLOT, 4.0)]


NEW_REQUESTS = sorted(
    {intent for marks in JOURNEY_MARKS.values() for intent in marks.intents}
    | {INTENT_REQUEST_HUMAN, "thank", "goodbye", "greet", "bot_challenge", "start_over"}
)


@pytest.mark.parametrize("intent", NEW_REQUESTS)
async def test_a_new_request_is_not_an_answer_so_the_form_is_rejected_for_it(intent: str) -> None:
    # Rasa rejects a form whose validation records nothing; the request's own rules then run.
    assert await validate(asking().user("where is my order 3 days late?", intent)) == []


async def test_the_message_before_the_question_is_not_taken_for_an_answer() -> None:
    # Activation: the form is not active yet, and "step 2" is not a rating of 2.
    conversation = Conversation().user("yes, step 2 fixed it", "affirm")
    conversation.ran("utter_troubleshooting_resolved")
    conversation.ran("action_offer_bot_csat")

    assert await validate(conversation) == []


async def test_back_at_the_form_after_the_customer_moved_on_it_ends_without_asking() -> None:
    conversation = asking().user("thanks", "thank")
    conversation._add(ActionExecuted(FORM), ActionExecutionRejected(FORM))
    conversation.ran("utter_you_are_welcome")

    events = await validate(conversation)

    assert events == [slot_event("requested_slot", None)]


# --- After the answer -------------------------------------------------------------------------


async def test_a_rating_is_thanked_and_left_in_the_tracker_only() -> None:
    conversation = asking().user("5").ran("bot_csat_form", [slot_event(SLOT, 5.0)])

    result = await run_action(ActionSubmitBotCsat(), conversation.tracker())

    assert texts(result.messages) == [f"Thank you! {HELP_HINT}"]
    # The form's SlotSet is the record; emptied, the slot does not carry into a new session.
    assert plain(result.events) == [slot_event(SLOT, None)]


async def test_a_skip_gets_a_word_and_no_thanks_for_a_rating() -> None:
    conversation = asking().user("/deny", "deny").ran("bot_csat_form", [slot_event(SLOT, None)])

    result = await run_action(ActionSubmitBotCsat(), conversation.tracker())

    assert texts(result.messages) == [f"No problem. {HELP_HINT}"]


async def test_nothing_is_said_when_the_customer_moved_on() -> None:
    conversation = asking().user("thanks", "thank")
    conversation._add(ActionExecuted(FORM), ActionExecutionRejected(FORM))
    conversation.ran("utter_you_are_welcome").ran("bot_csat_form")

    result = await run_action(ActionSubmitBotCsat(), conversation.tracker())

    assert result.messages == []
