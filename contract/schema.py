"""The committed JSON Schema of the handoff context, and validation against it.

`schemas/handoff_context.v<major>.json` is generated from `contract.handoff_context` and
committed, so the desk (a separate service) can validate POSTs without importing our models.

    python -m contract.schema          # (re)write the committed schema from the models
    python -m contract.schema --check  # exit 1 if the committed schema differs from the models
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match

from contract.generated_file import write_or_check
from contract.handoff_context import SCHEMA_VERSION, HandoffContext

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_MAJOR = SCHEMA_VERSION.split(".")[0]
SCHEMA_PATH = REPO_ROOT / "schemas" / f"handoff_context.v{SCHEMA_MAJOR}.json"
SCHEMA_ID = f"https://schemas.support-assistant.example/handoff_context/{SCHEMA_VERSION}"
DRAFT = "http://json-schema.org/draft-07/schema#"

# Top-level keys first in this order, then anything pydantic adds; definitions sorted by name.
_TOP_LEVEL_ORDER = (
    "$schema",
    "$id",
    "title",
    "description",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "definitions",
)


def handoff_context_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 7) of `HandoffContext`, with a stable key order."""
    # pydantic caches and returns the same dict on every call: never modify it in place.
    generated = copy.deepcopy(HandoffContext.schema())
    generated["$schema"] = DRAFT
    generated["$id"] = SCHEMA_ID
    generated["title"] = f"HandoffContext {SCHEMA_VERSION}"
    generated["definitions"] = dict(sorted(generated.get("definitions", {}).items()))
    ordered = {key: generated[key] for key in _TOP_LEVEL_ORDER if key in generated}
    ordered.update({key: value for key, value in generated.items() if key not in ordered})
    return ordered


def render_schema(schema: dict[str, Any]) -> str:
    """The exact text committed to `SCHEMA_PATH` (so `--check` can compare byte for byte)."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def load_committed_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    """Read the committed schema file."""
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@lru_cache(maxsize=4)
def _validator(path: Path) -> Draft7Validator:
    schema = load_committed_schema(path)
    Draft7Validator.check_schema(schema)
    # FormatChecker() knows `uuid` and `date`; date-times are enforced by their pattern.
    return Draft7Validator(schema, format_checker=FormatChecker())


def validate_payload(payload: Any, schema_path: Path = SCHEMA_PATH) -> list[str]:
    """Validate a decoded handoff POST body against the committed schema.

    Args:
        payload: The decoded JSON body.
        schema_path: Schema file to validate against (the committed one by default).

    Returns:
        Human-readable errors, each starting with the JSON Pointer of the offending field,
        sorted by path; empty when the payload is valid.
    """
    validator = _validator(schema_path)
    errors = [_describe(error) for error in validator.iter_errors(payload)]
    return sorted(set(errors))


def _pointer(parts: list[str | int]) -> str:
    """RFC 6901 JSON Pointer of a path; the document root reads "(root)"."""
    if not parts:
        return "(root)"
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def _describe(error: ValidationError) -> str:
    """One line naming the field and what is wrong with it."""
    # A nullable field fails as "not valid under any of the given schemas"; the branch that
    # is not `null` says what is actually wrong.
    if error.validator == "anyOf" and error.context:
        non_null = [
            e for e in error.context if e.validator != "type" or e.validator_value != "null"
        ]
        error = best_match(non_null or error.context) or error
    path: list[str | int] = list(error.absolute_path)
    if error.validator == "required":
        missing = _quoted_name(error.message)
        return f"{_pointer([*path, missing])}: required field is missing"
    if error.validator == "additionalProperties":
        unexpected = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return "; ".join(f"{_pointer([*path, name])}: unexpected field" for name in unexpected)
    # A uuid/date-time is checked by both its format and its pattern: report both the same
    # way (so the duplicate collapses) and without quoting the regex at the reader.
    if error.validator == "format" or (error.validator == "pattern" and "format" in error.schema):
        return f"{_pointer(path)}: {error.instance!r} is not a valid {error.schema['format']}"
    return f"{_pointer(path)}: {error.message}"


def _quoted_name(message: str) -> str:
    """The property name from jsonschema's "'name' is a required property" message."""
    return message.split("'")[1] if message.count("'") >= 2 else message


def main(argv: list[str] | None = None) -> int:
    """Write the committed schema, or with `--check` verify it matches the models."""
    parser = argparse.ArgumentParser(prog="python -m contract.schema", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    parser.add_argument("--path", type=Path, default=SCHEMA_PATH, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    return write_or_check(
        args.path,
        render_schema(handoff_context_json_schema()),
        check=args.check,
        source=f"contract/handoff_context.py (schema version {SCHEMA_VERSION})",
        command="python -m contract.schema",
        advice="If the change is not backwards compatible, bump SCHEMA_VERSION first.",
    )


if __name__ == "__main__":
    sys.exit(main())
