"""Files that conversation designers edit (YAML under `content/`), read and checked alike.

- Strict YAML: a duplicate key is an error, not silently the last value.
- A JSON Schema (draft 7) check whose problems are named by their YAML path
  (`error_codes.E-1042.steps[2].id`) and said in a designer's words, never echoing a whole
  section back.
- One report that names the file and lists every problem.

Each file's own module adds the rules JSON Schema cannot say, the wording of its own special
cases, and builds its typed view of the file.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Hashable, Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, TypeVar

import yaml
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

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

T = TypeVar("T")

#: A file's own wording for a schema error, or None to use the general one.
SpecialWording = Callable[[ValidationError], "str | None"]


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


def read_yaml(path: Path, error: type[ValueError]) -> Any:
    """The YAML document in `path`.

    Raises:
        error: naming the file, when it cannot be read, is not UTF-8 or is not valid YAML
            (with the line and column).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as failure:
        raise error(f"{path}: cannot read the file: {failure.strerror}") from failure
    except UnicodeDecodeError as failure:
        raise error(f"{path}: the file is not UTF-8 text") from failure
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as failure:
        raise error(f"{path}: {_describe_yaml_error(failure)}") from failure


def _describe_yaml_error(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    if mark is None:
        return f"not valid YAML: {problem}"
    return f"line {mark.line + 1}, column {mark.column + 1}: not valid YAML: {problem}"


def schema_validator(schema_path: Path) -> Draft7Validator:
    """A validator for the JSON Schema in `schema_path` (itself checked first)."""
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def schema_problems(
    validator: Draft7Validator, document: Any, special: SpecialWording = lambda error: None
) -> list[str]:
    """Every way `document` breaks the schema, as `<yaml path>: <what is wrong>`."""
    errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path)))
    return [
        f"{yaml_path(error.absolute_path)}: {special(error) or describe(error)}" for error in errors
    ]


def describe(error: ValidationError) -> str:
    """Say what is wrong in a designer's words, without echoing a whole section back."""
    kind = error.validator
    value = error.validator_value
    if kind == "required":
        missing = [key for key in value if key not in error.instance]
        return f"missing required key {', '.join(map(repr, missing))}"
    if kind == "pattern":
        return "must not be blank"
    if kind == "maxLength":
        return f"is too long: at most {value} characters, found {len(error.instance)}"
    if kind == "type":
        return f"must be {_JSON_TYPE_WORDS.get(value, value)}, found {_yaml_type(error.instance)}"
    if kind in {"minimum", "maximum"}:
        low, high = error.schema.get("minimum"), error.schema.get("maximum")
        return f"must be between {low} and {high}, found {shown(error.instance)}"
    if kind == "const":
        return f"must be {value!r}, found {shown(error.instance)}"
    return error.message[:200]


def yaml_path(parts: Iterable[Any]) -> str:
    """A path into the document as a designer reads it: `a.b[2].c`."""
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def shown(value: Any) -> str:
    """A value quoted in a message, cut short when long."""
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN_VALUE else text[: _MAX_SHOWN_VALUE - 1] + "…"


def _yaml_type(value: Any) -> str:
    if value is None:
        return "nothing"
    for python_type, word in _PYTHON_TYPE_WORDS:
        if isinstance(value, python_type):
            return word
    return type(value).__name__


def report(path: Path, problems: Sequence[str]) -> str:
    """One message naming the file and every problem in it."""
    if len(problems) == 1:
        return f"{path}: {problems[0]}"
    listed = "\n".join(f"  - {problem}" for problem in problems)
    return f"{path}: {len(problems)} problems:\n{listed}"


def check_command(
    argv: Sequence[str] | None,
    *,
    prog: str,
    what: str,
    default_path: Path,
    load: Callable[[Path], T],
    error: type[ValueError],
    summary: Callable[[T], str],
) -> int:
    """`python -m <prog> [path]`: check a file; print what is wrong and return 1, or print
    `<path>: OK: <summary>` and return 0 (`make validate` runs one per content file)."""
    parser = argparse.ArgumentParser(
        prog=prog, description=f"Check {what} against its schema and rules."
    )
    parser.add_argument("path", nargs="?", type=Path, default=default_path)
    arguments = parser.parse_args(argv)
    try:
        loaded = load(arguments.path)
    except error as failure:
        print(failure, file=sys.stderr)
        return 1
    print(f"{arguments.path}: OK: {summary(loaded)}")
    return 0


def checked_document(
    path: Path,
    schema_path: Path,
    error: type[ValueError],
    rules: Callable[[Any], list[str]] = lambda document: [],
) -> Any:
    """The YAML document in `path`, checked against the JSON Schema in `schema_path` and, once
    that holds, against `rules` (what a schema cannot say).

    Raises:
        error: The file cannot be read, is not YAML, or breaks the schema or a rule; the
            message names the file and the YAML path of each mistake.
    """
    document = read_yaml(path, error)
    problems = schema_problems(_cached_validator(schema_path), document) or rules(document)
    if problems:
        raise error(report(path, problems))
    return document


@lru_cache(maxsize=16)
def _cached_validator(schema_path: Path) -> Draft7Validator:
    return schema_validator(schema_path)
