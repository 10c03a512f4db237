"""The channel edge's checks and its guard around Rasa's message handler."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from sqlalchemy.exc import OperationalError

from assistant.apology import APOLOGY
from assistant.channels.edge import (
    MAX_ID_CHARS,
    MAX_METADATA_BYTES,
    MAX_TEXT_CHARS,
    InvalidInput,
    check_conversation_id,
    check_metadata,
    clean_text,
    guarded,
    parse_json_object,
)
from assistant.desk_events import mask_sender

# --- Conversation ids -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sender",
    [
        "e2e-orders-6f1c2b9e-2f0a-4c5e-9d7b-1a2b3c4d5e6f",
        "0f8fad5bd9cb469fa16570867728950e",
        "user 42",
        "Zoë-Ünal",
        "客户-7",
        "😀-smile",  # an astral character: one code point, encodable
        "x" * MAX_ID_CHARS,
    ],
)
def test_ordinary_ids_are_accepted_unchanged(sender: str) -> None:
    assert check_conversation_id(sender) == sender


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("\ud800web", "contains a lone surrogate (invalid Unicode) (U+D800)"),
        ("web\udfff", "contains a lone surrogate (invalid Unicode) (U+DFFF)"),
        ("a\x00b", "contains a control character (U+0000)"),
        ("line\nbreak", "contains a control character (U+000A)"),
        ("tab\there", "contains a control character (U+0009)"),
        ("c1\x85", "contains a control character (U+0085)"),
        ("zero\u200bwidth", "contains an invisible formatting character (U+200B)"),
        ("evil\u202etxt.exe", "contains an invisible formatting character (U+202E)"),
        ("para\u2029graph", "contains a paragraph separator (U+2029)"),
        ("line\u2028sep", "contains a line separator (U+2028)"),
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("x" * (MAX_ID_CHARS + 1), f"must be at most {MAX_ID_CHARS} characters"),
        (None, "is missing"),
        (42, "must be a string, not a number"),
        (True, "must be a string, not a boolean"),
        (["a"], "must be a string, not an array"),
        ({"id": "a"}, "must be a string, not an object"),
    ],
)
def test_invalid_ids_are_refused_naming_the_problem(value: Any, problem: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_conversation_id(value, "sender")

    assert refused.value.field == "sender"
    assert refused.value.problem == problem
    assert str(refused.value) == f"sender: {problem}"


def test_a_refusal_never_repeats_the_value() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_conversation_id("private-name\x00")

    assert "private-name" not in str(refused.value)


def test_a_refusal_is_a_value_error() -> None:
    """Callers that only know `ValueError` still see a refusal for what it is."""
    assert issubclass(InvalidInput, ValueError)


# --- Texts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("where is my order ORD-100002?", "where is my order ORD-100002?"),
        ("two\nlines\r\nand\ta tab", "two\nlines\r\nand\ta tab"),
        ("", ""),
        ("nul\x00inside", "nul inside"),
        ("\x1b[31mred\x1b[0m", " [31mred [0m"),
        ("bell\x07 del\x7f nel\x85", "bell  del  nel "),
        ("half \ud83d of an emoji", "half \ufffd of an emoji"),
        ("\udc80\ud800", "\ufffd\ufffd"),
        ("emoji 😀 stays", "emoji 😀 stays"),
        ("zero\u200bwidth stays", "zero\u200bwidth stays"),
    ],
)
def test_texts_are_repaired_not_refused(text: str, cleaned: str) -> None:
    result = clean_text(text)

    assert result == cleaned
    result.encode("utf-8")  # always storable


def test_a_long_text_within_the_limit_is_accepted() -> None:
    """`make bench` sends 10,000 characters; the NLU answers it with its "too long" reply."""
    assert clean_text("a" * 10_000) == "a" * 10_000
    assert len(clean_text("é" * MAX_TEXT_CHARS)) == MAX_TEXT_CHARS


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("a" * (MAX_TEXT_CHARS + 1), f"must be at most {MAX_TEXT_CHARS} characters"),
        (None, "is missing"),
        (7, "must be a string, not a number"),
        (["hi"], "must be a string, not an array"),
        ({"text": "hi"}, "must be a string, not an object"),
    ],
)
def test_absurd_or_missing_texts_are_refused(value: Any, problem: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        clean_text(value)

    assert (refused.value.field, refused.value.problem) == ("message", problem)


# --- Metadata -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "metadata",
    [None, {}, {"language": "en", "page": "/checkout", "n": 3, "ok": True, "nested": {"a": [1]}}],
)
def test_plain_metadata_is_accepted(metadata: dict[str, Any] | None) -> None:
    assert check_metadata(metadata) == metadata


def test_metadata_up_to_the_limit_is_accepted() -> None:
    overhead = len(json.dumps({"blob": ""}))
    metadata = {"blob": "x" * (MAX_METADATA_BYTES - overhead)}

    assert check_metadata(metadata) == metadata


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ([1, 2], "must be a JSON object, not an array"),
        ("{}", "must be a JSON object, not a string"),
        (5, "must be a JSON object, not a number"),
        ({"name": "\ud800"}, "contains a lone surrogate (invalid Unicode)"),
        ({"\udfff": 1}, "contains a lone surrogate (invalid Unicode)"),
        ({"score": float("nan")}, "must be plain JSON (no NaN or Infinity)"),
        ({"score": float("inf")}, "must be plain JSON (no NaN or Infinity)"),
        ({"blob": "x" * MAX_METADATA_BYTES}, f"must be at most {MAX_METADATA_BYTES} bytes as JSON"),
        ({"blob": "é" * (MAX_METADATA_BYTES // 2)}, "must be at most 8192 bytes as JSON"),
    ],
)
def test_invalid_metadata_is_refused(value: Any, problem: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_metadata(value)

    assert (refused.value.field, refused.value.problem) == ("metadata", problem)


def test_metadata_nested_beyond_what_json_can_encode_is_refused() -> None:
    nested: dict[str, Any] = {}
    deepest = nested
    for _ in range(5_000):
        deepest["a"] = {}
        deepest = deepest["a"]

    with pytest.raises(InvalidInput, match="must be plain JSON"):
        check_metadata(nested)


# --- JSON bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "is empty; send a JSON object"),
        (None, "is empty; send a JSON object"),
        (b"{not json", "is not valid JSON"),
        (b"\xff\xfe\xfa", "is not valid JSON"),
        (b"[" * 100_000, "is not valid JSON"),  # nested too deep for Python's parser
        (b"[1, 2]", "must be a JSON object, not an array"),
        (b'"hi"', "must be a JSON object, not a string"),
        (b"null", "must be a JSON object, not null"),
        (b"3", "must be a JSON object, not a number"),
        (b"true", "must be a JSON object, not a boolean"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(body: bytes | None, problem: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_json_object(body)

    assert (refused.value.field, refused.value.problem) == ("body", problem)


def test_a_json_object_is_parsed() -> None:
    assert parse_json_object(b'{"sender": "a", "message": "hi"}') == {
        "sender": "a",
        "message": "hi",
    }


# --- The guard around Rasa's handler ----------------------------------------------------------


class FailingOutput(CollectingOutputChannel):
    """An output channel whose sending fails (a socket gone away)."""

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        raise ConnectionResetError("socket closed")


async def test_a_failing_turn_is_answered_with_the_apology_and_logged_masked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sender, text = "customer-4711", "my card is 4111 1111 1111 1111"

    async def store_down(message: UserMessage) -> None:
        raise OperationalError("INSERT INTO events ...", (sender, text), Exception("db down"))

    output = CollectingOutputChannel()
    with caplog.at_level(logging.ERROR):
        await guarded(store_down, "rest")(UserMessage(text, output, sender))

    assert [message["text"] for message in output.messages] == [APOLOGY]
    assert mask_sender(sender) in caplog.text
    assert "OperationalError" in caplog.text
    assert sender not in caplog.text
    assert "4111" not in caplog.text
    assert "db down" not in caplog.text  # messages are left out: they may repeat parameters


async def test_a_turn_that_works_is_left_alone() -> None:
    async def echo(message: UserMessage) -> None:
        await message.output_channel.send_text_message(message.sender_id, "hello")

    output = CollectingOutputChannel()
    await guarded(echo, "rest")(UserMessage("hi", output, "customer-1"))

    assert [message["text"] for message in output.messages] == ["hello"]


async def test_an_apology_that_cannot_be_sent_is_only_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(message: UserMessage) -> None:
        raise RuntimeError("lock store failed")

    with caplog.at_level(logging.ERROR):
        await guarded(broken, "socketio")(UserMessage("hi", FailingOutput(), "customer-2"))

    assert "could not send the apology" in caplog.text
    assert "ConnectionResetError" in caplog.text


async def test_the_guard_does_not_swallow_an_exit() -> None:
    async def exits(message: UserMessage) -> None:
        raise SystemExit(1)

    with pytest.raises(SystemExit):
        await guarded(exits, "rest")(UserMessage("hi", CollectingOutputChannel(), "c"))


@pytest.mark.parametrize("text", ["", "   ", "\n\t ", None])
async def test_an_empty_message_is_ignored_silently(text: str | None) -> None:
    # A widget opening without an `initPayload` sends one: nothing reaches Rasa, nobody answers.
    reached: list[UserMessage] = []

    async def record(message: UserMessage) -> None:
        reached.append(message)

    output = CollectingOutputChannel()
    await guarded(record, "socketio")(UserMessage(text, output, "customer-3"))
    await guarded(record, "rest")(UserMessage(" hi ", output, "customer-3"))

    assert [message.text for message in reached] == ["hi"]
    assert output.messages == []
