"""Files and folders only their owner may read: logs, the demo's codes, recorded handoffs.

Logs and these files carry what customers wrote (masked where it is personal, but still
theirs) and the system's internals, so another user of the machine reads none of them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Final

PRIVATE_FILE_MODE: Final = 0o600
PRIVATE_DIRECTORY_MODE: Final = 0o700


def private_directory(path: Path) -> Path:
    """`path` (and missing parents) as a directory only its owner may enter, even if it
    existed before with wider permissions."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(PRIVATE_DIRECTORY_MODE)
    return path


def open_private(path: Path, *, append: bool = False) -> IO[bytes]:
    """`path` opened for writing bytes, readable by its owner only.

    Created 0600 from the start (no moment where another user could open it), and an existing
    file left by an older version with the default mode is narrowed too.
    """
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    descriptor = os.open(path, flags, PRIVATE_FILE_MODE)
    os.fchmod(descriptor, PRIVATE_FILE_MODE)
    return os.fdopen(descriptor, "ab" if append else "wb")
