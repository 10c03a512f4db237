"""The Rasa server's log masking: its secrets and personal data never reach a log line."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from assistant.log_masking import SECRET_VARIABLES, install

SECRETS = {name: f"{name.lower()}-value-{index}" for index, name in enumerate(SECRET_VARIABLES)}


class KeepingHandler(logging.Handler):
    """Keeps the records it is given."""

    def __init__(self, kept: list[logging.LogRecord]) -> None:
        """Append to `kept`."""
        super().__init__()
        self.kept = kept

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record."""
        self.kept.append(record)


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    """Records reaching a handler of a non-propagating Rasa logger, added after `install`."""
    factory = logging.getLogRecordFactory()
    kept: list[logging.LogRecord] = []
    handler = KeepingHandler(kept)
    logger = logging.getLogger("rasa.core.actions.action")
    try:
        install(SECRETS)
        logger.addHandler(handler)
        yield kept
    finally:
        logger.removeHandler(handler)
        logging.setLogRecordFactory(factory)
        logging.captureWarnings(False)


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
