"""Files generated from the code and committed: written, or checked to be current.

The handoff context's JSON Schema (`contract.schema`) and the desk's OpenAPI description
(`desk.api.openapi`) are generated from the models and committed, so other services and tools
read them without importing our code; `--check` (in `make validate`) fails when the code has
moved on and the committed file has not.
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

#: The longest diff shown for a stale file.
MAX_DIFF_LINES = 60


def write_or_check(
    path: Path, generated: str, *, check: bool, source: str, command: str, advice: str = ""
) -> int:
    """Write `generated` to `path` (0), or with `check` compare it with the committed file:
    0 when equal, 1 (with the diff on stderr) when not.

    Args:
        path: The committed file.
        generated: Its text as the code makes it now.
        check: Compare instead of writing.
        source: What the file is generated from, for the message.
        command: The command that rewrites it.
        advice: A sentence added to the message of a stale file.
    """
    if check:
        committed = path.read_text(encoding="utf-8") if path.exists() else ""
        if committed == generated:
            print(f"{path} is up to date.")
            return 0
        lines = difflib.unified_diff(
            committed.splitlines(keepends=True),
            generated.splitlines(keepends=True),
            fromfile=f"{path.name} (committed)",
            tofile=f"{path.name} (from {source})",
        )
        print(
            f"{path} differs from {source}. Run `{command}` and commit the result."
            + (f" {advice}" if advice else "")
            + "\n"
            + "".join(list(lines)[:MAX_DIFF_LINES]),
            file=sys.stderr,
        )
        return 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(generated, encoding="utf-8")
    print(f"Wrote {path}.")
    return 0
