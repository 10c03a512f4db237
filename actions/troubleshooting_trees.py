"""The troubleshooting trees that conversation designers edit, loaded and checked.

`content/troubleshooting_trees.yml` is validated against
`schemas/troubleshooting_trees.schema.json` (JSON Schema draft 7) plus the rules JSON Schema
cannot express (unique step ids, no duplicate YAML keys). Any problem raises
`TroubleshootingTreeError` naming the file and the YAML path of the mistake.

Run ``python -m actions.troubleshooting_trees [path]`` (or ``make validate``) to check a file.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import yaml
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from actions.settings import PROJECT_ROOT

SCHEMA_PATH: Final = PROJECT_ROOT / "schemas" / "troubleshooting_trees.schema.json"
DEFAULT_TREES_PATH: Final = PROJECT_ROOT / "content" / "troubleshooting_trees.yml"

# "E-1042", "e1042", "E 1042", E with a dash; or a bare four digits right after "error"/"code".
_ERROR_CODE: Final = re.compile(
    r"(?<![A-Z0-9])E\s?[-_\u2010-\u2015]?\s?(?P<digits>[0-9]{4})(?![0-9])"
    r"|\b(?:ERROR|CODE)(?:\s{1,3}CODE)?\s{0,3}[:#]?\s{0,3}(?P<bare>[0-9]{4})(?![0-9])",
    re.IGNORECASE | re.ASCII,
)
_MAX_SHOWN_VALUE: Final = 60
_JSON_TYPE_WORDS: Final = {
    "object": "a mapping",
    "array": "a list",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
}
# bool before int: True is an int in Python.
_PYTHON_TYPE_WORDS: Final[tuple[tuple[type, str], ...]] = (
    (bool, "true or false"),
    (int, "a whole number"),
    (float, "a number"),
    (str, "text"),
    (list, "a list"),
    (dict, "a mapping"),
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
    document = _read_yaml(path)
    problems = _schema_problems(document) or _duplicate_step_ids(document)
    if problems:
        raise TroubleshootingTreeError(_report(path, problems))
    return _build_catalog(document)


# --- Reading -----------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader that refuses duplicate keys instead of silently keeping the last one."""


def _construct_mapping_without_duplicates(
    loader: _StrictLoader, node: yaml.MappingNode
) -> dict[Any, Any]:
    seen: set[Hashable] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, Hashable) and key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        if isinstance(key, Hashable):
            seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping_without_duplicates
)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise TroubleshootingTreeError(f"{path}: cannot read the file: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise TroubleshootingTreeError(f"{path}: the file is not UTF-8 text") from error
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as error:
        raise TroubleshootingTreeError(f"{path}: {_describe_yaml_error(error)}") from error


def _describe_yaml_error(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    if mark is None:
        return f"not valid YAML: {problem}"
    return f"line {mark.line + 1}, column {mark.column + 1}: not valid YAML: {problem}"


# --- Checking ----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _validator() -> Draft7Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def _schema_problems(document: Any) -> list[str]:
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.path)))
    return [f"{_yaml_path(error.absolute_path)}: {_describe(error)}" for error in errors]


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


def _describe(error: ValidationError) -> str:
    """Say what is wrong in a designer's words, without echoing a whole tree back."""
    kind = error.validator
    value = error.validator_value
    if "propertyNames" in error.schema_path:
        return (
            f"error code {_shown(error.instance)} must look like E-1234 "
            "(a capital E, a hyphen and four digits)"
        )
    if kind == "required":
        missing = [key for key in value if key not in error.instance]
        return f"missing required key {', '.join(map(repr, missing))}"
    if kind == "minItems":
        return f"needs at least {value} steps, found {len(error.instance)}"
    if kind == "pattern" and error.path and error.path[-1] == "id":
        return f"step id {_shown(error.instance)} must be lower_snake_case (a-z, 0-9 and _)"
    if kind == "pattern":
        return "must not be blank"
    if kind == "maxLength":
        return f"is too long: at most {value} characters, found {len(error.instance)}"
    if kind == "type":
        return f"must be {_JSON_TYPE_WORDS.get(value, value)}, found {_yaml_type(error.instance)}"
    if kind in {"minimum", "maximum"}:
        low, high = error.schema.get("minimum"), error.schema.get("maximum")
        return f"must be between {low} and {high}, found {_shown(error.instance)}"
    if kind == "const":
        return f"must be {value!r}, found {_shown(error.instance)}"
    if kind == "minProperties":
        return "needs at least one error code"
    return error.message[:200]


def _yaml_path(parts: Iterable[Any]) -> str:
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN_VALUE else text[: _MAX_SHOWN_VALUE - 1] + "…"


def _yaml_type(value: Any) -> str:
    if value is None:
        return "nothing"
    for python_type, word in _PYTHON_TYPE_WORDS:
        if isinstance(value, python_type):
            return word
    return type(value).__name__


def _report(path: Path, problems: Sequence[str]) -> str:
    if len(problems) == 1:
        return f"{path}: {problems[0]}"
    listed = "\n".join(f"  - {problem}" for problem in problems)
    return f"{path}: {len(problems)} problems:\n{listed}"


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
    parser = argparse.ArgumentParser(
        prog="python -m actions.troubleshooting_trees",
        description="Check a troubleshooting tree file against its schema and rules.",
    )
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_TREES_PATH)
    arguments = parser.parse_args(argv)
    try:
        catalog = load_troubleshooting_catalog(arguments.path)
    except TroubleshootingTreeError as error:
        print(error, file=sys.stderr)
        return 1
    print(
        f"{arguments.path}: OK: {len(catalog.trees)} error codes ({', '.join(catalog.codes)}), "
        f"general tree with {len(catalog.general.steps)} steps, "
        f"cycle_limit {catalog.cycle_limit}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
