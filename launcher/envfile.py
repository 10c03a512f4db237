"""Create or update `.env` from `.env.example`, filling secrets with random values.

Runs with the system Python before the virtualenv exists, so it uses the standard library only.
Existing values in `.env` are kept; keys new in `.env.example` are added.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

PLACEHOLDER = "generate-me"


def parse_env(text: str) -> dict[str, str]:
    """KEY=VALUE lines; comments and blank lines are ignored."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and "=" in stripped:
            key, value = stripped.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def render_env(example: str, existing: dict[str, str]) -> str:
    """The example's lines, with existing values kept and placeholders made random."""
    lines = []
    for line in example.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and "=" in stripped:
            key, value = stripped.split("=", 1)
            key = key.strip()
            if key in existing:
                value = existing[key]
            elif value.strip() == PLACEHOLDER:
                value = secrets.token_urlsafe(32)
            line = f"{key}={value.strip()}"
        lines.append(line)
    extra = {key: value for key, value in existing.items() if key not in parse_env(example)}
    lines += [f"{key}={value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def main(example_path: str = ".env.example", env_path: str = ".env") -> int:
    """Writes `.env`; prints which keys were added."""
    example = Path(example_path).read_text()
    target = Path(env_path)
    existing = parse_env(target.read_text()) if target.exists() else {}
    # Created owner-only from the start: the file holds secrets.
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as env_file:
        env_file.write(render_env(example, existing))
    target.chmod(0o600)  # an existing file keeps its old mode on open()
    added = sorted(set(parse_env(example)) - set(existing))
    if added:
        print(f"{env_path}: added {', '.join(added)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
