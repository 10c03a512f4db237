"""The repeat detector on hand-made transcripts: what counts as a repeat, and what must not."""

from __future__ import annotations

from typing import Any

from analytics.repeats import Repeat, find_repeats, known_values

CONTEXT: dict[str, Any] = {
    "customer_name": "Jane Doe",
    "slots": {
        "order_number": "ORD-100005",
        "error_code": None,
        "email": "Jane.Doe@Example.com",
        "loan_amount": 180000,
        "term_years": 25,
        "application_reference": "MTG-7K3Q9",
    },
}


def turns(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"speaker": speaker, "text": text} for speaker, text in pairs]


def test_the_context_carries_each_field_normalised() -> None:
    known = known_values(CONTEXT)
    assert known == {
        "order_number": {"100005"},
        "email": {"jane.doe@example.com"},
        "amount": {"180000.00"},
        "reference": {"7K3Q9"},
        "name": {"jane", "doe"},
    }


def test_a_customer_restating_values_is_a_repeat_per_field() -> None:
    found = find_repeats(
        known_values(CONTEXT),
        turns(
            ("agent", "Hi, I'm Olivia from order support."),
            ("customer", "It's order ord 100005, as I said, email JANE.DOE@example.com"),
            ("customer", "I want to borrow £180,000"),
            ("customer", "my reference is mtg-7k3q9"),
        ),
    )
    assert found == [
        Repeat("order_number", 1, "restated"),
        Repeat("email", 1, "restated"),
        Repeat("amount", 2, "restated"),
        Repeat("reference", 3, "restated"),
    ]


def test_an_agent_asking_for_a_field_the_context_had_is_a_repeat_not_the_answer() -> None:
    found = find_repeats(
        known_values(CONTEXT),
        turns(
            ("agent", "Could you give me your order number, please?"),
            ("customer", "ORD-100005"),
            ("agent", "What's your email address?"),
        ),
    )
    assert found == [Repeat("order_number", 0, "asked"), Repeat("email", 2, "asked")]


def test_what_is_not_a_repeat() -> None:
    found = find_repeats(
        known_values(CONTEXT),
        turns(
            # The agent quoting the value back asks for nothing.
            ("agent", "I can see order ORD-100005 is delayed. Is that the one?"),
            # Another order is a new question, not a repeat.
            ("customer", "Also ORD-200001 please"),
            # A rating or a small number is never an amount; a term is not a known amount.
            ("customer", "5"),
            ("customer", "over 25 years"),
            # A word that merely contains a name is not the name.
            ("customer", "Another thing: undone"),
            # An agent mentioning a field without asking.
            ("agent", "The order number is on your screen already."),
        ),
    )
    assert found == []


def test_fields_the_context_lacked_are_never_repeats() -> None:
    known = known_values({"slots": {"order_number": None}})
    assert known == {}
    assert (
        find_repeats(known, turns(("customer", "ORD-100005"), ("agent", "Your order number?")))
        == []
    )


def test_broken_turns_are_skipped() -> None:
    found = find_repeats(
        known_values(CONTEXT),
        [{"speaker": "customer"}, {"speaker": "customer", "text": 5}, {"text": "ORD-100005"}],
    )
    assert found == []


def test_the_customer_giving_their_name_again_is_a_repeat_but_not_inside_their_email() -> None:
    known = known_values(CONTEXT)
    assert find_repeats(known, turns(("customer", "This is jane doe again"))) == [
        Repeat("name", 0, "restated")
    ]
    assert find_repeats(known, turns(("customer", "write to jane.doe@example.com"))) == [
        Repeat("email", 0, "restated")
    ]


def test_an_order_number_the_bot_cleared_after_the_lookup_is_still_carried() -> None:
    context = {
        "slots": {
            "order_number": None,
            "order_record": {"order_number": "ORD-100005", "status": "delayed"},
            "order_lookups": [{"label": "ORD-999999", "outcome": "not_found"}],
        }
    }
    known = known_values(context)
    assert known == {"order_number": {"100005", "999999"}}
    assert find_repeats(known, turns(("customer", "it's ORD-999999"))) == [
        Repeat("order_number", 0, "restated")
    ]
