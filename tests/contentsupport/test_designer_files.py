"""Reading and checking designer-edited YAML (`contentsupport.designer_files`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contentsupport.designer_files import read_yaml, report, schema_problems, schema_validator


class FileProblem(ValueError):
    """The error type a caller asks for."""


def test_a_duplicate_key_is_an_error_not_the_last_value(tmp_path: Path) -> None:
    path = tmp_path / "f.yml"
    path.write_text("a: 1\nb: 2\na: 3\n", encoding="utf-8")

    with pytest.raises(FileProblem, match=r"line 3, column 1: not valid YAML: duplicate key 'a'"):
        read_yaml(path, FileProblem)


def test_a_missing_or_binary_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileProblem, match="cannot read the file"):
        read_yaml(tmp_path / "absent.yml", FileProblem)
    binary = tmp_path / "binary.yml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(FileProblem, match="the file is not UTF-8 text"):
        read_yaml(binary, FileProblem)


def test_schema_problems_are_named_by_yaml_path_in_plain_words(tmp_path: Path) -> None:
    schema = tmp_path / "s.json"
    schema.write_text(
        json.dumps(
            {
                "type": "object",
                "properties": {
                    "items": {"type": "array", "items": {"type": "integer", "maximum": 5}},
                    "name": {"type": "string", "maxLength": 3},
                },
            }
        ),
        encoding="utf-8",
    )
    document = {"items": [1, "two", 9], "name": "long"}

    problems = schema_problems(schema_validator(schema), document)

    assert problems == [
        "items[1]: must be a whole number, found text",
        "items[2]: must be between None and 5, found 9",
        "name: is too long: at most 3 characters, found 4",
    ]
    special = schema_problems(schema_validator(schema), {"name": "long"}, lambda e: "custom")
    assert special == ["name: custom"]


def test_the_report_names_the_file_and_lists_every_problem() -> None:
    assert report(Path("c.yml"), ["a: x"]) == "c.yml: a: x"
    assert report(Path("c.yml"), ["a: x", "b: y"]) == "c.yml: 2 problems:\n  - a: x\n  - b: y"
