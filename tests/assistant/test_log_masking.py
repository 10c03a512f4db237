"""The Rasa server's log masking: its secrets and personal data never reach a log line."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator

import pytest
import rasa.shared.utils.io
import rasa.utils.common
import rasa.utils.log_utils
import structlog

from assistant.log_masking import SECRET_VARIABLES, install
from tests.support.log_records import KeepingHandler

SECRETS = {name: f"{name.lower()}-value-{index}" for index, name in enumerate(SECRET_VARIABLES)}


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    """Records reaching the root logger and a handler of a Rasa logger, all added after
    `install`; the process's logging, warnings and structlog are restored afterwards."""
    factory = logging.getLogRecordFactory()
    anonymizer = rasa.utils.log_utils._anonymizer
    raise_warning = rasa.shared.utils.io.raise_warning
    kept: list[logging.LogRecord] = []
    handler = KeepingHandler(kept)
    loggers = [logging.getLogger(), logging.getLogger("rasa.core.actions.action")]
    logging.getLogger("rasa.core.actions.action").propagate = False
    try:
        with warnings.catch_warnings():
            install(SECRETS)
            for logger in loggers:
                logger.addHandler(handler)
            yield kept
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        logging.getLogger("rasa.core.actions.action").propagate = True
        logging.setLogRecordFactory(factory)
        logging.captureWarnings(False)
        rasa.utils.log_utils._anonymizer = anonymizer
        rasa.shared.utils.io.raise_warning = raise_warning
        structlog.reset_defaults()


def test_every_secret_of_the_process_and_personal_data_are_masked(
    records: list[logging.LogRecord],
) -> None:
    logging.getLogger("rasa.core.actions.action").error(
        "Failed to run custom action at 'http://127.0.0.1:5055/webhook?token=%s' for %s; %s",
        SECRETS["ACTION_SERVER_TOKEN"],
        "jane@example.com",
        ", ".join(SECRETS.values()),
    )

    [record] = records
    message = record.getMessage()
    assert "jane@example.com" not in message
    for value in SECRETS.values():
        assert value not in message
    assert "webhook?token=<redacted>" in message


def test_a_message_rasa_cannot_parse_is_not_quoted(records: list[logging.LogRecord]) -> None:
    message = '/inform{"name": "Zebedee Quixwold"'

    # Rasa's main sets its warning filters after the installation, then meets a "/intent{...}"
    # message whose arguments it cannot parse.
    rasa.utils.common._filter_warnings(logging.INFO)
    rasa.shared.utils.io.raise_warning(f"Failed to parse arguments in line '{message}'. ")
    # And with one that does not even look like an intent, through its structured log.
    rasa.utils.log_utils.configure_structlog(logging.INFO)
    structlog.get_logger().warning("message.parsing.failed", user_text=message)

    lines = [record.getMessage() for record in records]
    assert "message.parsing.failed" in " ".join(lines)
    assert "the message is the customer's" in " ".join(lines)
    assert not [line for line in lines if "Zebedee" in line]


def test_other_warnings_still_name_rasas_caller(records: list[logging.LogRecord]) -> None:
    warnings.simplefilter("always")
    for category in (UserWarning, FutureWarning, DeprecationWarning):
        rasa.shared.utils.io.raise_warning(f"a {category.__name__} from here", category)
    rasa.shared.utils.io.raise_warning("a warning of no category", stacklevel=1)

    lines = [r.getMessage() for r in records if r.name == "py.warnings"]
    assert len(lines) == 4
    assert not [line for line in lines if "assistant/log_masking.py" in line]
    assert __file__ in lines[0] and __file__ in lines[1]  # Rasa's stack level 2: the caller
    assert "rasa/shared/utils/io.py" in lines[3], "stacklevel=1: the line that warns"
