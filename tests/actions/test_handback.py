"""The bot taking a conversation back: welcome, rating, callback message, cancelled wait."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from rasa.shared.core.events import BotUttered

from actions.conversation import HELP_HINT
from actions.handback import (
    ActionAskCallback,
    ActionHandoffCancelled,
    ActionSubmitCallback,
    ActionSubmitCsat,
    ActionWelcomeBack,
    ValidateCsatForm,
    clean_feedback,
    parse_rating,
)
from harness.recording_endpoint import RecordingEndpoint
from tests.actions.conftest import Conversation, make_tracker, plain, run_action, texts

SECRET = "handback-secret"
HANDOFF_ID = "5f0c6a7e-3b1d-4c8e-9a2f-1d7e4b6c8a90"
LISTEN = {"event": "action", "name": "action_listen", "policy": None, "confidence": None}


@pytest.fixture
async def endpoint() -> AsyncIterator[RecordingEndpoint]:
    async with RecordingEndpoint(secret=SECRET) as running:
        yield running


@pytest.fixture
def handoff_url(endpoint: RecordingEndpoint) -> str:
    return endpoint.url


@pytest.fixture
def handoff_secret() -> str:
    return SECRET


@pytest.mark.parametrize(
    ("text", "rating"),
    [("5", 5), ("5.0", 5), ("4 stars", 4), ("four", 4), ("1", 1), ("it was a 3", 3)],
)
def test_a_rating_is_read_from_the_customers_words(text: str, rating: int) -> None:
    assert parse_rating(text) == rating


@pytest.mark.parametrize("text", ["11", "0", "6", "1-5", "3 or 4", "great", "", "9" * 500])
def test_anything_else_is_not_a_rating(text: str) -> None:
    assert parse_rating(text) is None


@pytest.mark.parametrize("text", ["no", "No thanks.", "nothing", "skip", "  "])
def test_no_comment_is_none(text: str) -> None:
    assert clean_feedback(text) is None


def test_a_comment_is_trimmed_and_capped() -> None:
    assert clean_feedback("  quick   and kind ") == "quick and kind"
    assert len(clean_feedback("x" * 5000) or "") == 1000


async def test_welcome_back_starts_the_rating_form_and_logs_the_listen() -> None:
    result = await run_action(ActionWelcomeBack(), make_tracker(slots={"handoff_id": HANDOFF_ID}))

    assert texts(result.messages)[0] == "Welcome back, you're chatting with the assistant again."
    assert "from 1 (poor) to 5 (excellent)" in texts(result.messages)[1]
    assert [b["payload"] for b in result.messages[1]["buttons"]] == ["1", "2", "3", "4", "5"]
    assert plain(result.events)[-3:] == [
        {"event": "active_loop", "name": "csat_form"},
        {"event": "slot", "name": "requested_slot", "value": "csat_rating"},
        LISTEN,
    ]
    # The handoff is over (a new request for a person opens a new one); the rating is for it.
    assert plain(result.events)[:2] == [
        {"event": "slot", "name": "closed_handoff_id", "value": HANDOFF_ID},
        {"event": "slot", "name": "handoff_id", "value": None},
    ]


async def test_an_invalid_rating_is_asked_again() -> None:
    conversation = Conversation().form("csat_form", "csat_rating").user("11")
    result = await run_action(
        ValidateCsatForm(), conversation.form_tracker("csat_form", csat_rating="11")
    )

    assert texts(result.messages) == ["Please choose a number from 1 (poor) to 5 (excellent)."]
    assert plain(result.events) == [{"event": "slot", "name": "csat_rating", "value": None}]


async def test_no_comment_still_ends_the_form() -> None:
    conversation = Conversation().form("csat_form", "csat_comment").user("no", "deny")
    result = await run_action(
        ValidateCsatForm(), conversation.form_tracker("csat_form", csat_comment="no")
    )

    assert plain(result.events) == [{"event": "slot", "name": "csat_comment", "value": ""}]


@pytest.mark.usefixtures("action_env")
async def test_the_rating_is_stored_with_the_handoff(endpoint: RecordingEndpoint) -> None:
    endpoint._recording.handoffs[HANDOFF_ID] = {"handoff_id": HANDOFF_ID}
    tracker = make_tracker(
        slots={"closed_handoff_id": HANDOFF_ID, "csat_rating": 4.0, "csat_comment": "kind"}
    )

    result = await run_action(ActionSubmitCsat(), tracker)

    assert endpoint._recording.feedback == {HANDOFF_ID: {"csat": {"rating": 4, "comment": "kind"}}}
    assert "Thank you for your feedback!" in texts(result.messages)[0]
    assert plain(result.events) == [{"event": "slot", "name": "closed_handoff_id", "value": None}]


@pytest.mark.usefixtures("action_env")
async def test_with_the_desk_down_the_customer_still_gets_thanks(
    endpoint: RecordingEndpoint,
) -> None:
    await endpoint.down()
    tracker = make_tracker(slots={"closed_handoff_id": HANDOFF_ID, "csat_rating": 2.0})

    result = await run_action(ActionSubmitCsat(), tracker)

    assert "Thank you for your feedback!" in texts(result.messages)[0]


async def test_asking_for_a_callback_starts_its_form() -> None:
    result = await run_action(ActionAskCallback(), make_tracker(slots={"handoff_id": HANDOFF_ID}))

    assert "leave your message" in texts(result.messages)[0]
    assert plain(result.events)[:2] == [
        {"event": "slot", "name": "closed_handoff_id", "value": HANDOFF_ID},
        {"event": "slot", "name": "handoff_id", "value": None},
    ]
    assert plain(result.events)[-2:] == [
        {"event": "slot", "name": "requested_slot", "value": "callback_message"},
        LISTEN,
    ]


@pytest.mark.usefixtures("action_env")
async def test_the_callback_message_is_stored_or_the_customer_is_told(
    endpoint: RecordingEndpoint,
) -> None:
    endpoint._recording.handoffs[HANDOFF_ID] = {"handoff_id": HANDOFF_ID}
    slots = {"closed_handoff_id": HANDOFF_ID, "callback_message": "call me at 5"}

    stored = await run_action(ActionSubmitCallback(), make_tracker(slots=slots))
    await endpoint.down()
    failed = await run_action(ActionSubmitCallback(), make_tracker(slots=slots))

    assert endpoint._recording.feedback[HANDOFF_ID] == {"callback": {"message": "call me at 5"}}
    assert "call you back" in texts(stored.messages)[0]
    assert "couldn't pass your message on" in texts(failed.messages)[0]


async def test_a_cancelled_wait_closes_the_handoff_for_the_bot() -> None:
    result = await run_action(ActionHandoffCancelled(), make_tracker(slots={"handoff_id": "x"}))

    assert "cancelled your request for a person" in texts(result.messages)[0]
    assert plain(result.events) == [{"event": "slot", "name": "handoff_id", "value": None}, LISTEN]


# --- The advisor's next step ------------------------------------------------------------------


def handed_back_by(agent: str | None, next_step: str | None) -> Conversation:
    """An advisor chatted (if named), then handed back with the next step set."""
    conversation = Conversation().slots(handoff_id=HANDOFF_ID)
    if agent is not None:
        conversation._add(  # an agent's turn, as the desk appends it
            BotUttered(
                "I've noted your advice.", metadata={"handoff_agent": {"id": 7, "name": agent}}
            )
        )
    return conversation.slots(mortgage_next_step=next_step)


@pytest.mark.parametrize(
    ("next_step", "line"),
    [
        ("collect_documents", "Maya has asked me to collect your documents."),
        ("book_appointment", "Maya has asked me to help you book your signing at a branch."),
    ],
)
async def test_welcome_back_says_what_the_advisor_asked_the_bot_to_do(
    next_step: str, line: str
) -> None:
    result = await run_action(ActionWelcomeBack(), handed_back_by("Maya", next_step).tracker())

    assert texts(result.messages)[0] == (
        f"Welcome back, you're chatting with the assistant again. {line}"
    )
    # The rating still comes first; the next step follows it (see ActionSubmitCsat).
    assert "from 1 (poor) to 5 (excellent)" in texts(result.messages)[1]
    assert plain(result.events)[-1] == LISTEN


async def test_without_an_agents_turn_the_advisor_is_not_named() -> None:
    result = await run_action(
        ActionWelcomeBack(), handed_back_by(None, "collect_documents").tracker()
    )

    assert texts(result.messages)[0].endswith(
        "Your advisor has asked me to collect your documents."
    )


@pytest.mark.parametrize("next_step", [None, "none"])
async def test_without_a_next_step_the_welcome_is_unchanged(next_step: str | None) -> None:
    result = await run_action(ActionWelcomeBack(), handed_back_by("Maya", next_step).tracker())

    assert texts(result.messages)[0] == "Welcome back, you're chatting with the assistant again."


@pytest.mark.usefixtures("action_env")
@pytest.mark.parametrize("next_step", ["collect_documents", "book_appointment"])
async def test_after_the_rating_the_application_continues_once(
    endpoint: RecordingEndpoint, next_step: str
) -> None:
    endpoint._recording.handoffs[HANDOFF_ID] = {"handoff_id": HANDOFF_ID}
    tracker = make_tracker(
        slots={"closed_handoff_id": HANDOFF_ID, "csat_rating": 5.0, "mortgage_next_step": next_step}
    )

    result = await run_action(ActionSubmitCsat(), tracker)

    assert endpoint._recording.feedback == {HANDOFF_ID: {"csat": {"rating": 5, "comment": None}}}
    assert texts(result.messages) == ["Thank you for your feedback!"]
    assert plain(result.events) == [
        {"event": "slot", "name": "closed_handoff_id", "value": None},
        {"event": "slot", "name": "mortgage_next_step", "value": None},
        {"event": "followup", "name": "action_continue_application"},
    ]


@pytest.mark.usefixtures("action_env")
async def test_with_no_next_step_the_rating_ends_with_the_help_hint(
    endpoint: RecordingEndpoint,
) -> None:
    tracker = make_tracker(
        slots={"closed_handoff_id": HANDOFF_ID, "csat_rating": 3.0, "mortgage_next_step": "none"}
    )

    result = await run_action(ActionSubmitCsat(), tracker)

    assert texts(result.messages) == [f"Thank you for your feedback! {HELP_HINT}"]
    assert all(event["event"] != "followup" for event in result.events)
