"""Passwords, session tokens and shared-secret checks, with the standard library only.

Passwords are hashed with scrypt (`hashlib.scrypt`, a memory-hard KDF) and a random 16-byte
salt; the parameters travel in the stored string, so they can be raised later without
invalidating existing hashes:  ``scrypt$<n>$<r>$<p>$<salt b64>$<key b64>``.
Session cookies carry a random token; the database stores only its SHA-256, so a leaked
database cannot be replayed as logins. Every comparison of secrets is constant-time.

What a client sends (a header, a cookie) is any text: aiohttp decodes header bytes that are not
UTF-8 (0xff) as lone surrogates (`surrogateescape`), which plain UTF-8 cannot encode. Tokens
and secrets from a client are therefore encoded with `surrogatepass`: every str has exactly one
such encoding, so the functions below never raise, and a token that is not text matches nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from functools import lru_cache
from typing import Final

SCRYPT_N: Final = 2**14
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
_KEY_BYTES: Final = 32
_SALT_BYTES: Final = 16
_MAXMEM: Final = 64 * 1024 * 1024
_SCHEME: Final = "scrypt"


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """Hash a password with scrypt and a fresh random salt."""
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _scrypt(password, salt, n, r, p)
    return "$".join((_SCHEME, str(n), str(r), str(p), _b64(salt), _b64(key)))


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches the stored hash (constant-time; False if malformed)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != _SCHEME:
            return False
        expected = base64.b64decode(key, validate=True)
        actual = _scrypt(password, base64.b64decode(salt, validate=True), int(n), int(r), int(p))
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(actual, expected)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def burn_password_check(password: str) -> None:
    """Spend the time of one password check, for unknown users.

    A wrong username then costs the same time as a wrong password, so response times do not
    reveal which usernames exist.
    """
    verify_password(password, _dummy_hash())


def new_session_token() -> str:
    """A random token for a session cookie (256 bits)."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """SHA-256 of a session token, as stored in the database (hex, 64 characters)."""
    return hashlib.sha256(_client_bytes(token)).hexdigest()


def secrets_equal(given: str, expected: str) -> bool:
    """Constant-time comparison of two secrets (any text: False unless equal)."""
    return hmac.compare_digest(_client_bytes(given), _client_bytes(expected))


def _client_bytes(text: str) -> bytes:
    """UTF-8 of text a client sent, lone surrogates included (see the module doc)."""
    return text.encode("utf-8", "surrogatepass")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=_KEY_BYTES
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
