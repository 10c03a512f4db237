"""A logging handler that keeps what it is given, for tests of what reaches the logs."""

from __future__ import annotations

import logging


class KeepingHandler(logging.Handler):
    """Keeps the records it is given."""

    def __init__(self, kept: list[logging.LogRecord]) -> None:
        """Append to `kept`."""
        super().__init__()
        self.kept = kept

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record."""
        self.kept.append(record)
