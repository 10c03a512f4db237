"""Decoding JSON bodies (`desk.api.runtime.decode_json`): what is refused, and what is not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from desk.api.runtime import MAX_JSON_DEPTH, MAX_REPORTED_PROBLEMS, BadRequest, decode_json
from desk.services.errors import InvalidInput


def nested(depth: int) -> Any:
    """`depth` containers, objects and arrays in turn, around one string."""
    value: Any = "deepest"
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


def test_a_body_is_decoded_as_sent() -> None:
    body = {"text": "café ☕ 😀", "n": [1, 2.5, None, True], "path": "a\\u0000b"}

    assert decode_json(json.dumps(body).encode()) == body  # emoji as an escaped pair
    assert decode_json(json.dumps(body, ensure_ascii=False).encode()) == body


def test_text_that_only_looks_like_an_escape_is_kept() -> None:
    assert decode_json(b'{"note": "\\\\ud800 and \\\\u0000"}') == {"note": "\\ud800 and \\u0000"}


def test_nesting_to_the_limit_is_accepted_and_one_more_level_is_400() -> None:
    deepest = nested(MAX_JSON_DEPTH)

    assert decode_json(json.dumps(deepest).encode()) == deepest
    with pytest.raises(BadRequest, match=f"deeper than {MAX_JSON_DEPTH} levels"):
        decode_json(json.dumps(nested(MAX_JSON_DEPTH + 1)).encode())


@pytest.mark.parametrize(
    "body", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 5000 + b"1" + b"}" * 5000]
)
def test_nesting_beyond_what_the_decoder_can_recurse_is_400(body: bytes) -> None:
    with pytest.raises(BadRequest, match="deeper than"):
        decode_json(body)


@pytest.mark.parametrize(
    "body",
    [b"", b"{oops", b"\xff", b"NaN", b"[-Infinity]", b'{"a": 1e999}', b"9" * 5000],
    ids=["empty", "broken", "not utf-8", "nan", "infinity", "overflow", "int of 5000 digits"],
)
def test_what_is_not_json_is_400(body: bytes) -> None:
    with pytest.raises(BadRequest, match="not"):
        decode_json(body)


def test_unstorable_strings_are_named_by_json_pointer() -> None:
    body = b'{"user": {"name": "a\\ud800", "tags": ["ok", "\\u0000"]}, "x/y~": "\\udfff\\u0000"}'

    with pytest.raises(InvalidInput) as refused:
        decode_json(body)

    assert refused.value.errors == [
        "/user/name: the value holds a lone UTF-16 surrogate, which is not text",
        "/user/tags/1: the value holds a NUL character (\\u0000), which is not stored",
        "/x~1y~0: the value holds a NUL character (\\u0000), which is not stored",
        "/x~1y~0: the value holds a lone UTF-16 surrogate, which is not text",
    ]


def test_an_unstorable_name_is_refused_and_shown_printably() -> None:
    with pytest.raises(InvalidInput) as refused:
        decode_json(b'{"slots": {"a\\udc80": 1}}')

    assert refused.value.errors == [
        "/slots/a\\udc80: the name holds a lone UTF-16 surrogate, which is not text"
    ]


def test_a_body_full_of_bad_strings_gets_a_bounded_answer() -> None:
    with pytest.raises(InvalidInput) as refused:
        decode_json(json.dumps(["\ud800"] * 1000).encode())

    assert len(refused.value.errors) == MAX_REPORTED_PROBLEMS + 1
    assert refused.value.errors[-1] == f"... and {1000 - MAX_REPORTED_PROBLEMS} more"
