"""A failing action, or a database outage, ends in an apology and the offer of a person."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.failsafe import FAILURE_APOLOGY, OFFER_BUTTONS, apologise_on_failure, describe
from actions.mortgage import ActionSubmitMortgageApplication
from actions.orders import ActionOrderStatus, ValidateOrderForm
from actions.troubleshooting import ActionAskStepAnswer
from tests.actions.conftest import (
    SENDER_ID,
    ActionResult,
    Conversation,
    SetEnv,
    plain,
    run_action,
    slot_event,
    texts,
)

APOLOGY_EVENTS = [slot_event("human_offered", True), slot_event("handoff_reason", "action_error")]


class HalfDoneAction(Action):
    """Starts answering, then fails: the half-built answer must not reach the customer."""

    def name(self) -> str:
        return "action_test_half_done"

    @apologise_on_failure
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text="Your order ORD-100002 is")
        raise RuntimeError("the carrier API returned nonsense")


def assert_apologised(result: ActionResult) -> None:
    assert texts(result.messages) == [FAILURE_APOLOGY]
    assert result.messages[0]["buttons"] == OFFER_BUTTONS
    assert plain(result.events) == APOLOGY_EVENTS


# --- A bug in an action ----------------------------------------------------------------------


@pytest.mark.usefixtures("action_env")
async def test_a_failing_action_apologises_instead_of_half_answering(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tracker = Conversation().user("where is ORD-100002?", "check_order_status").tracker()

    with caplog.at_level(logging.ERROR, logger="actions.failsafe"):
        result = await run_action(HalfDoneAction(), tracker)

    assert_apologised(result)
    [record] = caplog.records
    assert record.getMessage() == (
        f"Action action_test_half_done failed in conversation {SENDER_ID}"
    )
    assert record.exc_info is not None
    assert "the carrier API returned nonsense" in str(record.exc_info[1])


@pytest.mark.usefixtures("action_env")
async def test_a_real_action_that_breaks_on_odd_state_apologises() -> None:
    # A step number beyond the tree (e.g. the designers shortened it mid-conversation).
    tracker = Conversation().slots(troubleshooting_tree="E-5003", troubleshooting_step=9).tracker()

    assert_apologised(await run_action(ActionAskStepAnswer(), tracker))


@pytest.mark.usefixtures("app_database")
async def test_submitting_an_incomplete_application_apologises() -> None:
    tracker = Conversation().slots(applicant_name="Jane Smith").tracker()

    assert_apologised(await run_action(ActionSubmitMortgageApplication(), tracker))


def test_the_offer_buttons_answer_yes_and_no() -> None:
    assert OFFER_BUTTONS == [
        {"title": "Yes, connect me", "payload": "/affirm"},
        {"title": "No, thanks", "payload": "/deny"},
    ]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("ORD-12", "ORD-12"),
        ("  two\n lines\t ", "two lines"),
        ("x" * 30, "x" * 23 + "…"),
        (None, "None"),
        (12345, "12345"),
    ],
)
def test_describe_echoes_input_on_one_short_line(value: Any, shown: str) -> None:
    assert describe(value) == shown


# --- The database is down ----------------------------------------------------------------------


@pytest.fixture(params=["a directory", "never migrated"])
def unusable_database(
    request: pytest.FixtureRequest, tmp_path: Path, set_env: SetEnv, action_env: object
) -> str:
    """APP_DATABASE_URL pointing at a database the actions cannot use."""
    if request.param == "a directory":
        target = tmp_path / "app.db"
        target.mkdir()
    else:
        target = tmp_path / "empty.db"  # SQLite creates it, without any table
    url = f"sqlite:///{target}"
    set_env(APP_DATABASE_URL=url)
    return url


def order_number_given(number: str) -> Tracker:
    return (
        Conversation()
        .user("where is my order?", "check_order_status")
        .form("order_form", "order_number")
        .user(number, "inform")
        .form_tracker("order_form", order_number=number)
    )


@pytest.mark.usefixtures("unusable_database")
async def test_the_order_lookup_apologises_during_an_outage() -> None:
    result = await run_action(ValidateOrderForm(), order_number_given("ORD-100002"))

    # The number was never looked up, so it is not kept: the form must not end as if found.
    assert_apologised(result._replace(events=result.events[:2]))
    assert plain(result.events[2:]) == [slot_event("order_number", None)]


@pytest.mark.usefixtures("unusable_database")
async def test_a_number_read_from_free_text_is_not_kept_during_an_outage() -> None:
    tracker = (
        Conversation()
        .user("where is my order 100002?", "check_order_status")
        .form_tracker("order_form")
    )

    result = await run_action(ValidateOrderForm(), tracker)

    assert_apologised(result._replace(events=result.events[:2]))
    assert plain(result.events[2:]) == [slot_event("order_number", None)]


@pytest.mark.usefixtures("unusable_database")
async def test_a_malformed_number_is_still_explained_during_an_outage() -> None:
    # No lookup is needed to say that the number is malformed.
    result = await run_action(ValidateOrderForm(), order_number_given("ORD-12"))

    assert "doesn't look like one of our order numbers" in texts(result.messages)[0]


@pytest.mark.usefixtures("unusable_database")
async def test_storing_the_application_apologises_during_an_outage() -> None:
    tracker = Conversation().slots(
        applicant_name="Jane Smith",
        email="jane@example.com",
        property_value=350_000.0,
        deposit_amount=70_000.0,
        loan_amount=280_000.0,
        loan_to_value=0.8,
        term_years=25.0,
        annual_income=72_000.0,
        employment_type="employed",
    )

    assert_apologised(await run_action(ActionSubmitMortgageApplication(), tracker.tracker()))


@pytest.mark.usefixtures("unusable_database")
async def test_the_status_report_needs_no_database() -> None:
    # action_order_status reports the record the form already read: an outage after the
    # lookup does not stop it.
    record = {
        "order_number": "ORD-100002",
        "status": "shipped",
        "carrier": "DHL",
        "estimated_delivery": "2025-11-26",
        "tracking_events": [],
    }
    tracker = Conversation().slots(order_number="ORD-100002", order_record=record).tracker()

    result = await run_action(ActionOrderStatus(), tracker)

    assert texts(result.messages)[0].startswith("Order ORD-100002 has shipped with DHL.")
    assert slot_event("order_outcome", "reported") in plain(result.events)
