"""How a one-time resume code reaches the customer (`CodeSender`), and the demo's way.

The demo has no mail server: `LogCodeSender` writes the code to the desk's log (logger
"desk.demo_outbox"), the e-mail masked and the code shown, and, when DESK_DEMO_CODES_FILE is
set, appends `{"reference", "code", "sent_at"}` as one JSON line to that file, which the
end-to-end tests read. A real deployment gives `desk.app.create_app` a sender that e-mails.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime
from pathlib import Path
from typing import Final, Protocol

from logsupport.masking import mask_email
from logsupport.private_files import open_private

LOGGER: Final = logging.getLogger("desk.demo_outbox")


class CodeSender(Protocol):
    """Sends a one-time code to the e-mail on file. Called inside the unit of work that
    stored the code's digest; it must not block for long."""

    def send(self, *, reference: str, email: str, code: str, sent_at: datetime) -> None:
        """Send `code` for the application `reference` to `email`."""


class LogCodeSender:
    """The demo's "e-mail": the desk's log, and optionally a JSON-lines file.

    Args:
        codes_file: Where to append each code as a JSON line (None: the log only).
    """

    def __init__(self, codes_file: Path | None = None) -> None:
        """Write to the log, and to `codes_file` if given."""
        self._codes_file = codes_file
        # Units of work run in a thread pool: one line at a time.
        self._lock = threading.Lock()

    def send(self, *, reference: str, email: str, code: str, sent_at: datetime) -> None:
        """Log the code (the e-mail masked) and append it to the codes file."""
        LOGGER.info(
            "resume code for %s sent to %s: %s (demo outbox)", reference, mask_email(email), code
        )
        if self._codes_file is None:
            return
        line = json.dumps({"reference": reference, "code": code, "sent_at": sent_at.isoformat()})
        with self._lock:
            self._codes_file.parent.mkdir(parents=True, exist_ok=True)
            with open_private(self._codes_file, append=True) as codes:  # codes are secrets
                codes.write((line + "\n").encode())
