"""Which chat a socket may join (`assistant.channels.chat_access`), with a fixed clock."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.channels.chat_access import MAX_TOKEN_CHARS, ChatAccess, checked_token
from assistant.channels.edge import InvalidInput
from contract.webchat import (
    TRANSCRIPT_TOKEN_TTL_SECONDS,
    transcript_key,
    transcript_session,
    transcript_token,
)

SECRET = "handoff-s3cret"
NOW = 1_800_000_000.0
CHAT = "0123456789abcdef0123456789abcdef"


def access() -> ChatAccess:
    return ChatAccess(SECRET, clock=lambda: NOW)


def token(session_id: str = CHAT, expires_at: float = NOW + 60, secret: str = SECRET) -> str:
    return transcript_token(transcript_key(secret), session_id, int(expires_at))


def test_the_token_of_the_chat_asked_for_joins_it() -> None:
    admission = access().admit(CHAT, token())

    assert (admission.session_id, admission.grant) == (CHAT, None)


def test_a_token_alone_joins_its_chat() -> None:
    assert access().admit(None, token()).session_id == CHAT


@pytest.mark.parametrize(
    "given",
    [
        None,
        token(expires_at=NOW),
        token(secret="another secret"),
        token(session_id="fedcba9876543210fedcba9876543210"),
        "v1." + CHAT,
    ],
    ids=["none", "expired", "forged", "another chat's", "malformed"],
)
def test_without_a_token_that_opens_it_a_new_chat_is_started(given: str | None) -> None:
    admission = access().admit(CHAT, given)

    assert admission.grant is not None
    assert admission.session_id == admission.grant.session_id != CHAT
    assert admission.grant.expires_at == int(NOW) + TRANSCRIPT_TOKEN_TTL_SECONDS
    key = transcript_key(SECRET)
    assert transcript_session(key, admission.grant.token, NOW) == admission.session_id


def test_each_new_chat_is_another() -> None:
    first, second = access().admit(None, None), access().admit(None, None)

    assert first.session_id != second.session_id


def test_a_channel_without_the_secret_still_signs_its_own_chats() -> None:
    own = ChatAccess(None, clock=lambda: NOW)
    grant = own.admit(None, None).grant
    assert grant is not None

    assert own.admit(grant.session_id, grant.token).session_id == grant.session_id
    assert own.admit(CHAT, token()).session_id != CHAT


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (7, "token: must be a string, not a number"),
        (["x"], "token: must be a string, not an array"),
        ("x" * (MAX_TOKEN_CHARS + 1), f"token: must be at most {MAX_TOKEN_CHARS} characters"),
    ],
)
def test_a_value_that_cannot_be_a_token_is_invalid_input(value: Any, error: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        checked_token(value)

    assert str(refused.value) == error


@pytest.mark.parametrize("value", [None, ""])
def test_no_token_is_none(value: str | None) -> None:
    assert checked_token(value) is None
