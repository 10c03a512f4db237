"""Password hashing and secret comparison."""

from __future__ import annotations

from desk.security import (
    hash_password,
    new_session_token,
    secrets_equal,
    token_digest,
    verify_password,
)


def test_a_password_hash_verifies_only_its_password() -> None:
    stored = hash_password("s3cret pass")

    assert verify_password("s3cret pass", stored)
    assert not verify_password("s3cret pasS", stored)
    assert stored != hash_password("s3cret pass")  # a fresh salt every time


def test_the_parameters_travel_with_the_hash() -> None:
    cheap = hash_password("pw", n=2**10, r=8, p=1)

    assert cheap.split("$")[:4] == ["scrypt", "1024", "8", "1"]
    assert verify_password("pw", cheap)


def test_a_malformed_hash_never_verifies() -> None:
    for stored in ["", "plain", "md5$1$2$3$4$5", "scrypt$x$8$1$AAAA$AAAA", "scrypt$1024$8$1$!!$!!"]:
        assert not verify_password("pw", stored)


def test_tokens_are_random_and_stored_as_digests() -> None:
    first, second = new_session_token(), new_session_token()

    assert first != second
    assert len(token_digest(first)) == 64
    assert secrets_equal("abc", "abc")
    assert not secrets_equal("abc", "abd")


def test_secrets_that_are_not_text_compare_unequal_without_raising() -> None:
    # aiohttp decodes a header byte 0xff as the lone surrogate U+DCFF (surrogateescape).
    assert not secrets_equal("\udcff", "secret")
    assert not secrets_equal("secret\udcff", "secret")
    assert not secrets_equal("sécret", "secret")
    assert secrets_equal("sécret\udcff", "sécret\udcff")


def test_a_token_that_is_not_text_has_a_digest_of_its_own() -> None:
    assert token_digest("\udcff\udcfe") != token_digest("\udcfe\udcff")
    assert len(token_digest("\udcff")) == 64
