"""Support requests the bot does not handle: said plainly, with the offer of customer service."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from actions.customer_service import TOPICS, ActionOfferCustomerService
from tests.actions.conftest import Conversation, run_action, slot_changes, texts

pytestmark = pytest.mark.usefixtures("action_env")

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("intent", "text", "topic", "says"),
    [
        ("ask_refund", "I want my money back", "refund", "arrange refunds"),
        ("ask_return", "how do I send the jacket back", "return", "returns or exchanges"),
        ("ask_cancellation", "cancel my order please", "cancellation", "cancel orders"),
        ("ask_invoice_payment", "I need a VAT invoice", "invoice_payment", "invoices"),
        ("ask_account", "I can't log in", "account", "reset passwords"),
        ("ask_delivery_options", "do you ship to Norway", "delivery", "delivery options"),
        ("give_feedback", "I want to complain", "feedback", "complaints or feedback"),
    ],
)
async def test_each_topic_is_named_and_customer_service_is_offered(
    intent: str, text: str, topic: str, says: str
) -> None:
    conversation = Conversation().user(text, intent)

    events, messages = await run_action(ActionOfferCustomerService(), conversation.tracker())

    [said] = texts(messages)
    assert said.startswith("I'm sorry, I can't ") and says in said.split(" here:")[0]
    assert "customer service team" in said and said.endswith("Would you like that?")
    assert [button["payload"] for button in messages[0]["buttons"]] == ["/affirm", "/deny"]
    assert slot_changes(events) == {
        "support_topic": topic,
        "human_offered": True,
        "handoff_reason": "out_of_scope_request",
    }


def test_every_topic_intent_is_in_the_domain_and_the_rule() -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    rules = yaml.safe_load((ROOT / "data/rules/customer_service.yml").read_text(encoding="utf-8"))
    [rule] = rules["rules"]
    ruled = {step["intent"] for step in rule["steps"][0]["or"]}
    assert set(TOPICS) <= set(domain["intents"])
    assert ruled == set(TOPICS)
