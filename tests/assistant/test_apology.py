"""The apology and the failure summaries written to the log."""

from __future__ import annotations

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from assistant.apology import APOLOGY, MAX_LOGGED_MESSAGE_CHARS, describe_failure


def test_the_apology_is_short_and_says_what_to_do() -> None:
    assert len(APOLOGY) <= 120
    assert "our side" in APOLOGY
    assert "try again" in APOLOGY


def _client_error(url: str) -> aiohttp.ClientResponseError:
    headers: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict())
    info = aiohttp.RequestInfo(URL(url), "POST", headers, URL(url))
    return aiohttp.ClientResponseError(info, (), status=302, message="Too many redirects")


def test_a_failure_is_described_with_its_causes_and_no_token() -> None:
    try:
        try:
            raise _client_error("http://127.0.0.1:5055/webhook?token=s3cret")
        except aiohttp.ClientError as cause:
            raise RuntimeError("Failed to execute custom action 'action_x'") from cause
    except RuntimeError as failure:
        described = describe_failure(failure)

    assert described.startswith("RuntimeError: Failed to execute custom action 'action_x'")
    assert " <- ClientResponseError: 302, message='Too many redirects'" in described
    assert "s3cret" not in described
    assert "test_apology.py:" in described  # where it was raised
    assert "/work/" not in described.split("(at ", 1)[1]


def test_messages_can_be_left_out() -> None:
    failure = ValueError("customer-4711 said something private")

    assert describe_failure(failure, with_messages=False) == "ValueError"


def test_long_messages_are_cut_short_and_kept_on_one_line() -> None:
    described = describe_failure(ValueError("line one\nline two " + "x" * 1000))

    assert "\n" not in described
    assert described.startswith("ValueError: line one line two x")
    assert len(described) == len("ValueError: ") + MAX_LOGGED_MESSAGE_CHARS
