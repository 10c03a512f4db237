"""The web chat's transcript token: signed, bound to one chat, expiring."""

from __future__ import annotations

import pytest

from contract.webchat import (
    TRANSCRIPT_TOKEN_VERSION,
    TranscriptTokenRefused,
    transcript_session,
    transcript_token,
)

KEY = b"k" * 32
CHAT = "0123456789abcdef0123456789abcdef"
OTHER_CHAT = "fedcba9876543210fedcba9876543210"
NOW = 1_800_000_000
LATER = NOW + 3600


def test_a_token_opens_its_own_chat_until_it_expires() -> None:
    token = transcript_token(KEY, CHAT, LATER)

    assert token.startswith(f"{TRANSCRIPT_TOKEN_VERSION}.{CHAT}.{LATER}.")
    assert token.isascii() and " " not in token
    assert transcript_session(KEY, token, NOW) == CHAT
    assert transcript_session(KEY, token, LATER - 0.5) == CHAT


@pytest.mark.parametrize("now", [LATER, LATER + 1, LATER + 86_400])
def test_an_expired_token_is_refused(now: float) -> None:
    with pytest.raises(TranscriptTokenRefused, match="expired"):
        transcript_session(KEY, transcript_token(KEY, CHAT, LATER), now)


def test_a_token_names_one_chat_and_cannot_be_moved_to_another() -> None:
    token = transcript_token(KEY, CHAT, LATER)
    moved = token.replace(CHAT, OTHER_CHAT)

    assert transcript_session(KEY, transcript_token(KEY, OTHER_CHAT, LATER), NOW) == OTHER_CHAT
    with pytest.raises(TranscriptTokenRefused, match="not valid"):
        transcript_session(KEY, moved, NOW)


def test_a_longer_life_cannot_be_written_in() -> None:
    token = transcript_token(KEY, CHAT, NOW - 1)
    extended = token.replace(f".{NOW - 1}.", f".{LATER}.")

    with pytest.raises(TranscriptTokenRefused, match="not valid"):
        transcript_session(KEY, extended, NOW)


def test_a_token_signed_with_another_key_is_refused() -> None:
    with pytest.raises(TranscriptTokenRefused, match="not valid"):
        transcript_session(KEY, transcript_token(b"another key", CHAT, LATER), NOW)


@pytest.mark.parametrize(
    "tampered",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # the signature's last character
        lambda t: t.rsplit(".", 1)[0] + ".",  # no signature
        lambda t: t.rsplit(".", 1)[0] + "." + "A" * 43,  # a made-up signature
    ],
)
def test_a_tampered_signature_is_refused(tampered: object) -> None:
    token = transcript_token(KEY, CHAT, LATER)

    with pytest.raises(TranscriptTokenRefused, match="not valid"):
        transcript_session(KEY, tampered(token), NOW)  # type: ignore[operator]


@pytest.mark.parametrize(
    "token",
    [
        "",
        CHAT,
        f"v1.{CHAT}.{LATER}",
        f"v2.{CHAT}.{LATER}.sig",
        f"v1.{CHAT}.soon.sig",
        f"v1.{CHAT}.-5.sig",
        f"v1.{CHAT}.{LATER}.sig.extra",
        f"v1.{CHAT}.\uff11\uff12.sig",  # full-width digits are digits to str.isdigit
        "v1.ä.1.sig",
    ],
)
def test_a_malformed_token_is_refused_with_a_clear_reason(token: str) -> None:
    with pytest.raises(TranscriptTokenRefused, match="malformed"):
        transcript_session(KEY, token, NOW)
