"""The troubleshooting tree file, its schema, loader and command line."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from actions.settings import PROJECT_ROOT
from actions.troubleshooting_trees import (
    DEFAULT_TREES_PATH,
    SCHEMA_PATH,
    TroubleshootingCatalog,
    TroubleshootingTreeError,
    load_troubleshooting_catalog,
    main,
    normalize_error_code,
)

REPO_TREES = PROJECT_ROOT / "content" / "troubleshooting_trees.yml"


def fullwidth(text: str) -> str:
    """Return ASCII text in full-width forms, as some phone keyboards type it."""
    return "".join(chr(ord(character) + 0xFEE0) for character in text)


@pytest.fixture(scope="module")
def catalog() -> TroubleshootingCatalog:
    return load_troubleshooting_catalog(REPO_TREES)


@pytest.fixture
def valid_document() -> dict[str, Any]:
    """A small valid document for tests to break."""
    steps = [{"id": f"step_{n}", "text": f"Do thing {n}."} for n in range(1, 4)]
    return {
        "version": 1,
        "cycle_limit": 3,
        "general": {"title": "General", "description": "Anything.", "steps": copy.deepcopy(steps)},
        "error_codes": {
            "E-1042": {"title": "Offline", "description": "No internet.", "steps": steps},
        },
    }


def _write(tmp_path: Path, document: Any, name: str = "trees.yml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


# --- The file in the repository ----------------------------------------------------------------


def test_the_repository_file_is_the_default_and_validates(catalog: TroubleshootingCatalog) -> None:
    assert REPO_TREES == DEFAULT_TREES_PATH
    assert catalog.version == 1
    assert catalog.cycle_limit == 3


def test_the_repository_file_covers_enough_error_codes(catalog: TroubleshootingCatalog) -> None:
    assert "E-1042" in catalog.codes
    assert len(catalog.codes) >= 4
    for tree in [catalog.general, *catalog.trees.values()]:
        assert len(tree.steps) >= 3, tree.code
        assert len(set(tree.step_ids)) == len(tree.steps), tree.code
        assert tree.title and tree.description
        assert all(step.text.endswith(".") for step in tree.steps), tree.code


def test_the_schema_is_valid_draft_7() -> None:
    Draft7Validator.check_schema(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def test_cycle_limit_comes_from_the_file(tmp_path: Path, valid_document: dict[str, Any]) -> None:
    valid_document["cycle_limit"] = 5

    assert load_troubleshooting_catalog(_write(tmp_path, valid_document)).cycle_limit == 5


# --- Looking codes up --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "E-1042",
        "e-1042",
        "e1042",
        "E1042",
        "E 1042",
        "e - 1042",
        "E_1042",
        "E\u20131042",  # en dash
        "My router shows error E-1042 on the screen",
        "error code 1042",
        "code: 1042",
        fullwidth("E-1042"),
    ],
)
def test_lookup_normalises_the_code(catalog: TroubleshootingCatalog, typed: str) -> None:
    tree = catalog.lookup(typed)

    assert tree is not None
    assert tree.code == "E-1042"
    assert normalize_error_code(typed) == "E-1042"


@pytest.mark.parametrize("typed", ["E-9999", "E-0000"])
def test_lookup_of_an_unknown_code_is_none(catalog: TroubleshootingCatalog, typed: str) -> None:
    assert normalize_error_code(typed) == typed
    assert catalog.lookup(typed) is None


@pytest.mark.parametrize(
    "typed",
    ["", "1042", "E-104", "E-10423", "ORD-104233", "HE1042", "the light is red", "E" * 10_000],
)
def test_text_without_a_code_normalises_to_none(
    catalog: TroubleshootingCatalog, typed: str
) -> None:
    assert normalize_error_code(typed) is None
    assert catalog.lookup(typed) is None


def test_the_general_tree_has_no_code(catalog: TroubleshootingCatalog) -> None:
    assert catalog.general.code is None
    assert catalog.general.step("restart_hub") is not None
    assert catalog.general.step("no_such_step") is None


def test_the_catalog_is_immutable(catalog: TroubleshootingCatalog) -> None:
    tree = catalog.lookup("E-1042")
    assert tree is not None

    with pytest.raises(dataclasses.FrozenInstanceError):
        catalog.cycle_limit = 99  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        tree.steps[0].text = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        catalog.trees["E-0001"] = tree  # type: ignore[index]


# --- Broken files ------------------------------------------------------------------------------


def _drop_steps(document: dict[str, Any]) -> None:
    del document["error_codes"]["E-1042"]["steps"]


def _two_steps(document: dict[str, Any]) -> None:
    document["error_codes"]["E-1042"]["steps"].pop()


def _bad_code(document: dict[str, Any]) -> None:
    document["error_codes"]["E-42"] = document["error_codes"].pop("E-1042")


def _duplicate_step_id(document: dict[str, Any]) -> None:
    document["error_codes"]["E-1042"]["steps"][2]["id"] = "step_1"


def _cycle_limit(value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        document["cycle_limit"] = value

    return change


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        target = document
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return change


def _delete(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        target = document
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return change


@pytest.mark.parametrize(
    ("break_it", "yaml_path", "phrase"),
    [
        (_drop_steps, "error_codes.E-1042", "missing required key 'steps'"),
        (_two_steps, "error_codes.E-1042.steps", "needs at least 3 steps, found 2"),
        (_bad_code, "error_codes", "error code 'E-42' must look like E-1234"),
        (
            _duplicate_step_id,
            "error_codes.E-1042.steps[2].id",
            "duplicate step id 'step_1' (already used by steps[0])",
        ),
        (_cycle_limit(0), "cycle_limit", "must be between 1 and 10, found 0"),
        (_cycle_limit(11), "cycle_limit", "must be between 1 and 10, found 11"),
        (_cycle_limit("three"), "cycle_limit", "must be a whole number, found text"),
        (_cycle_limit(2.5), "cycle_limit", "must be a whole number, found a number"),
        (_delete(("general",)), "(top level)", "missing required key 'general'"),
        (_delete(("version",)), "(top level)", "missing required key 'version'"),
        (_set(("version",), 2), "version", "must be 1, found 2"),
        (_set(("error_codes",), {}), "error_codes", "needs at least one error code"),
        (
            _set(("general", "steps", 1, "id"), "Restart Hub"),
            "general.steps[1].id",
            "step id 'Restart Hub' must be lower_snake_case",
        ),
        (_set(("general", "steps", 0, "text"), "   "), "general.steps[0].text", "blank"),
        (_set(("general", "steps", 0, "text"), True), "general.steps[0].text", "must be text"),
        (_delete(("general", "steps", 0, "id")), "general.steps[0]", "missing required key 'id'"),
        (_set(("general", "colour"), "red"), "general", "'colour' was unexpected"),
        (
            _set(("general", "title"), "x" * 121),
            "general.title",
            "too long: at most 120 characters, found 121",
        ),
    ],
)
def test_a_broken_file_gives_a_clear_error(
    tmp_path: Path,
    valid_document: dict[str, Any],
    break_it: Callable[[dict[str, Any]], None],
    yaml_path: str,
    phrase: str,
) -> None:
    break_it(valid_document)
    path = _write(tmp_path, valid_document)

    with pytest.raises(TroubleshootingTreeError) as raised:
        load_troubleshooting_catalog(path)

    message = str(raised.value)
    assert message.startswith(str(path))
    assert f"{yaml_path}: " in message
    assert phrase in message
    assert len(message) < 500  # says what is wrong without dumping the whole tree


def test_every_problem_is_listed(tmp_path: Path, valid_document: dict[str, Any]) -> None:
    _two_steps(valid_document)
    _cycle_limit(0)(valid_document)
    path = _write(tmp_path, valid_document)

    with pytest.raises(TroubleshootingTreeError, match="2 problems") as raised:
        load_troubleshooting_catalog(path)

    assert "cycle_limit: must be between" in str(raised.value)
    assert "error_codes.E-1042.steps: needs at least 3 steps" in str(raised.value)


def test_a_duplicate_yaml_key_is_an_error_not_silently_dropped(tmp_path: Path) -> None:
    text = REPO_TREES.read_text(encoding="utf-8")
    path = tmp_path / "trees.yml"
    path.write_text(text + "\n  E-1042:\n    title: Again\n", encoding="utf-8")

    with pytest.raises(TroubleshootingTreeError, match="duplicate key 'E-1042'") as raised:
        load_troubleshooting_catalog(path)

    assert str(raised.value).startswith(f"{path}: line ")


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "trees.yml"
    path.write_text("version: 1\ncycle_limit: [3\ngeneral: {}\n", encoding="utf-8")

    with pytest.raises(TroubleshootingTreeError, match=r"line \d+, column \d+: not valid YAML"):
        load_troubleshooting_catalog(path)


@pytest.mark.parametrize("content", ["", "just a sentence", "- a\n- list\n"])
def test_a_file_that_is_not_a_mapping(tmp_path: Path, content: str) -> None:
    path = tmp_path / "trees.yml"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(TroubleshootingTreeError, match=r"\(top level\): must be a mapping"):
        load_troubleshooting_catalog(path)


def test_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yml"

    with pytest.raises(TroubleshootingTreeError, match="cannot read the file") as raised:
        load_troubleshooting_catalog(path)

    assert str(path) in str(raised.value)


# --- Command line ------------------------------------------------------------------------------


def test_cli_accepts_a_valid_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(REPO_TREES)]) == 0

    output = capsys.readouterr().out
    assert "OK" in output
    assert "E-1042" in output
    assert "cycle_limit 3" in output


def test_cli_rejects_a_broken_file(
    tmp_path: Path, valid_document: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    _two_steps(valid_document)
    path = _write(tmp_path, valid_document)

    assert main([str(path)]) == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{path}: error_codes.E-1042.steps: needs at least 3 steps" in captured.err


def test_module_runs_with_python_dash_m(tmp_path: Path, valid_document: dict[str, Any]) -> None:
    _duplicate_step_id(valid_document)
    broken = _write(tmp_path, valid_document)
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}

    def run(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "actions.troubleshooting_trees", *arguments],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert run().returncode == 0  # the repository file, found from any directory
    failed = run(str(broken))
    assert failed.returncode == 1
    assert "duplicate step id 'step_1'" in failed.stderr
