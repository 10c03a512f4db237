"""The troubleshooting trees that conversation designers edit, loaded and checked.

`content/troubleshooting_trees.yml` is validated against
`schemas/troubleshooting_trees.schema.json` (JSON Schema draft 7) plus the rules JSON Schema
cannot express (unique step ids, no duplicate YAML keys). Any problem raises
`TroubleshootingTreeError` naming the file and the YAML path of the mistake.

Run ``python -m actions.troubleshooting_trees [path]`` (or ``make validate``) to check a file.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from actions.settings import PROJECT_ROOT
from contentsupport.designer_files import (
    check_command,
    read_yaml,
    report,
    schema_problems,
    schema_validator,
    shown,
)

SCHEMA_PATH: Final = PROJECT_ROOT / "schemas" / "troubleshooting_trees.schema.json"
DEFAULT_TREES_PATH: Final = PROJECT_ROOT / "content" / "troubleshooting_trees.yml"

# "E-1042", "e1042", "E 1042", E with a dash; or a bare four digits right after "error"/"code".
_ERROR_CODE: Final = re.compile(
    r"(?<![A-Z0-9])E\s?[-_\u2010-\u2015]?\s?(?P<digits>[0-9]{4})(?![0-9])"
    r"|\b(?:ERROR|CODE)(?:\s{1,3}CODE)?\s{0,3}[:#]?\s{0,3}(?P<bare>[0-9]{4})(?![0-9])",
    re.IGNORECASE | re.ASCII,
)


class TroubleshootingTreeError(ValueError):
    """A troubleshooting tree file is missing, unreadable or breaks the rules."""


@dataclass(frozen=True)
class TroubleshootingStep:
    """One instruction for the customer, with the id that handoff reports quote."""

    id: str
    text: str


@dataclass(frozen=True)
class TroubleshootingTree:
    """The ordered steps for one error code (`code` is None for the general tree)."""

    code: str | None
    title: str
    description: str
    steps: tuple[TroubleshootingStep, ...]

    @property
    def step_ids(self) -> tuple[str, ...]:
        """The ids of the steps, in order."""
        return tuple(step.id for step in self.steps)

    def step(self, step_id: str) -> TroubleshootingStep | None:
        """Return the step with this id, if the tree has one."""
        return next((step for step in self.steps if step.id == step_id), None)


@dataclass(frozen=True)
class TroubleshootingCatalog:
    """Every tree in one file, plus how many unresolved passes come before a handoff."""

    version: int
    cycle_limit: int
    general: TroubleshootingTree
    trees: Mapping[str, TroubleshootingTree]

    @property
    def codes(self) -> tuple[str, ...]:
        """The error codes that have their own tree, sorted."""
        return tuple(sorted(self.trees))

    def lookup(self, code: str) -> TroubleshootingTree | None:
        """Return the tree for a code as typed ("e1042", "E 1042"); None if unknown."""
        canonical = normalize_error_code(code)
        return None if canonical is None else self.trees.get(canonical)


def normalize_error_code(text: str) -> str | None:
    """Return the first error code in `text` as "E-1234", or None if there is none."""
    match = _ERROR_CODE.search(unicodedata.normalize("NFKC", text or ""))
    if match is None:
        return None
    return f"E-{match.group('digits') or match.group('bare')}"


def load_troubleshooting_catalog(path: Path) -> TroubleshootingCatalog:
    """Read, validate and return the trees in `path`.

    Raises:
        TroubleshootingTreeError: The file cannot be read, is not YAML, or breaks a rule.
    """
    path = Path(path)
    document = read_yaml(path, TroubleshootingTreeError)
    problems = schema_problems(_validator(), document, _tree_wording) or _duplicate_step_ids(
        document
    )
    if problems:
        raise TroubleshootingTreeError(report(path, problems))
    return _build_catalog(document)


# --- Checking ----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _validator() -> Draft7Validator:
    return schema_validator(SCHEMA_PATH)


def _duplicate_step_ids(document: Mapping[str, Any]) -> list[str]:
    trees: list[tuple[str, Mapping[str, Any]]] = [("general", document["general"])]
    trees += [(f"error_codes.{code}", tree) for code, tree in document["error_codes"].items()]
    problems = []
    for tree_path, tree in trees:
        first_index: dict[str, int] = {}
        for index, step in enumerate(tree["steps"]):
            step_id = step["id"]
            if step_id in first_index:
                problems.append(
                    f"{tree_path}.steps[{index}].id: duplicate step id {step_id!r} "
                    f"(already used by steps[{first_index[step_id]}]); "
                    "step ids must be unique within a tree"
                )
            else:
                first_index[step_id] = index
    return problems


def _tree_wording(error: ValidationError) -> str | None:
    """This file's own words for a schema error; None for the general wording."""
    kind = error.validator
    value = error.validator_value
    if "propertyNames" in error.schema_path:
        return (
            f"error code {shown(error.instance)} must look like E-1234 "
            "(a capital E, a hyphen and four digits)"
        )
    if kind == "minItems":
        return f"needs at least {value} steps, found {len(error.instance)}"
    if kind == "pattern" and error.path and error.path[-1] == "id":
        return f"step id {shown(error.instance)} must be lower_snake_case (a-z, 0-9 and _)"
    if kind == "minProperties":
        return "needs at least one error code"
    return None


# --- Building ----------------------------------------------------------------------------


def _build_tree(code: str | None, raw: Mapping[str, Any]) -> TroubleshootingTree:
    return TroubleshootingTree(
        code=code,
        title=raw["title"].strip(),
        description=raw["description"].strip(),
        steps=tuple(
            TroubleshootingStep(id=step["id"], text=step["text"].strip()) for step in raw["steps"]
        ),
    )


def _build_catalog(document: Mapping[str, Any]) -> TroubleshootingCatalog:
    trees = {code: _build_tree(code, raw) for code, raw in document["error_codes"].items()}
    return TroubleshootingCatalog(
        version=document["version"],
        cycle_limit=document["cycle_limit"],
        general=_build_tree(None, document["general"]),
        trees=MappingProxyType(trees),
    )


# --- Command line ------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Validate a tree file; print what is wrong and return 1, or a summary and return 0."""
    return check_command(
        argv,
        prog="python -m actions.troubleshooting_trees",
        what="a troubleshooting tree file",
        default_path=DEFAULT_TREES_PATH,
        load=load_troubleshooting_catalog,
        error=TroubleshootingTreeError,
        summary=lambda catalog: (
            f"{len(catalog.trees)} error codes ({', '.join(catalog.codes)}), "
            f"general tree with {len(catalog.general.steps)} steps, "
            f"cycle_limit {catalog.cycle_limit}"
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
