"""Masking personal data and secrets in log records."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator

import pytest

from logsupport.masking import (
    MaskingRecordFactory,
    PiiMaskingFilter,
    install_log_masking,
    mask_email,
    mask_text,
    redact_secrets,
)

TOKEN = "Zx9-action-server-token_Q"


def test_email_hint() -> None:
    assert mask_email("jane.smith@example.com") == "j***@e***.com"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail jane.smith@example.com now", "mail j***@e***.com now"),
        ("call +31 6 12345678", "call [phone ***78]"),
        ("call 06-12345678 or (555) 123-4567", "call [phone ***78] or [phone ***67]"),
        ("card 4111 1111 1111 1111 ok", "card [card ****1111] ok"),
        ("card 4111111111111111", "card [card ****1111]"),
    ],
)
def test_mask_text_masks(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "order ORD-204117 looked up",
        "at 2025-03-14 09:30:05,123",
        "timestamp 1741944605.2",
        "handoff 5f0c6a7e-3b1d-4c8e-9a2f-1d7e4b6c8a90 delivered",
        "POST http://127.0.0.1:5056/handoffs 201",
        "retry 3 of 5 after 0.25s",
    ],
)
def test_mask_text_leaves_ordinary_log_content(text: str) -> None:
    assert mask_text(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"url=URL('http://127.0.0.1:5055/webhook?token={TOKEN}')",
            "url=URL('http://127.0.0.1:5055/webhook?token=<redacted>')",
        ),
        ("GET /x?a=1&access_token=abc&b=2 200", "GET /x?a=1&access_token=<redacted>&b=2 200"),
        ("/x?access_token=abc#f", "/x?access_token=<redacted>#f"),
        ("POST /y?secret=s3&password=p4", "POST /y?secret=<redacted>&password=<redacted>"),
        ("{'Authorization': 'Bearer abc.def-1'}", "{'Authorization': 'Bearer <redacted>'}"),
    ],
)
def test_redact_secrets_removes_secret_query_values_and_bearer_tokens(
    text: str, expected: str
) -> None:
    assert redact_secrets(text) == expected


def test_redact_secrets_removes_the_given_values_anywhere() -> None:
    assert redact_secrets(f"token is {TOKEN}!", TOKEN, None, "") == "token is <redacted>!"


class ListHandler(logging.Handler):
    """Keeps the formatted records."""

    def __init__(self) -> None:
        """Start empty."""
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Format and keep."""
        self.lines.append(self.format(record))


@pytest.fixture
def capture() -> Iterator[tuple[logging.Logger, ListHandler]]:
    """A logger whose records end up, filtered, in a list."""
    logger = logging.getLogger("tests.logsupport.filter")
    handler = ListHandler()
    handler.addFilter(PiiMaskingFilter([TOKEN]))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, handler
    logger.removeHandler(handler)


def test_filter_masks_message_and_args(capture: tuple[logging.Logger, ListHandler]) -> None:
    logger, handler = capture

    logger.info("customer %s wrote from %s: %d", "jane@example.com", "+44 20 7946 0958", 3)

    assert handler.lines == ["customer j***@e***.com wrote from [phone ***58]: 3"]


def test_filter_masks_exception_text(capture: tuple[logging.Logger, ListHandler]) -> None:
    logger, handler = capture

    try:
        raise ValueError(f"bad address jane@example.com at /webhook?token={TOKEN}")
    except ValueError:
        logger.exception("lookup failed")

    assert "jane@example.com" not in handler.lines[0]
    assert TOKEN not in handler.lines[0]
    assert "j***@e***.com" in handler.lines[0]


def test_filter_leaves_broken_format_calls_to_logging(
    capture: tuple[logging.Logger, ListHandler],
) -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d", ("not a number",), None)

    assert PiiMaskingFilter().filter(record) is True
    assert record.args == ("not a number",)


@pytest.fixture
def installed() -> Iterator[None]:
    """`install_log_masking` for one test; the record factory and warnings restored after."""
    factory = logging.getLogRecordFactory()
    try:
        yield
    finally:
        logging.setLogRecordFactory(factory)
        logging.captureWarnings(False)


@pytest.mark.usefixtures("installed")
def test_install_masks_records_of_every_logger_and_handler_even_added_later() -> None:
    first = install_log_masking([TOKEN])
    second = install_log_masking(["another-secret"])
    assert first is second
    assert isinstance(logging.getLogRecordFactory(), MaskingRecordFactory)

    # A logger that does not propagate, with a handler added after the installation (as Rasa
    # and Sanic add theirs): its records are masked all the same.
    logger = logging.getLogger("tests.logsupport.later")
    handler = ListHandler()
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        logger.warning("reach me at %s, token %s, %s", "jane@example.com", TOKEN, "another-secret")
    finally:
        logger.removeHandler(handler)

    assert handler.lines == ["reach me at j***@e***.com, token <redacted>, <redacted>"]


@pytest.mark.usefixtures("installed")
def test_install_routes_warnings_through_the_masking() -> None:
    install_log_masking()
    handler = ListHandler()
    logger = logging.getLogger("py.warnings")
    logger.disabled = False  # as a logging configuration made by an earlier test may leave it
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn('Failed to parse \'/inform{"email": "jane@example.com"\'', stacklevel=1)
    finally:
        logger.removeHandler(handler)

    [line] = handler.lines
    assert "jane@example.com" not in line
    assert "j***@e***.com" in line


def test_short_values_are_not_treated_as_secrets() -> None:
    masking = PiiMaskingFilter(["guest", TOKEN])

    assert masking.mask(f"user guest, token {TOKEN}") == "user guest, token <redacted>"
