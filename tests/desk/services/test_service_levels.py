"""The claim service levels (`desk.services.service_levels`): the shipped file, and bad files
told apart by clear messages naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from desk.services.service_levels import (
    DEFAULT_SERVICE_LEVELS_PATH,
    ServiceLevelFileError,
    load_service_levels,
    main,
)

VALID = """\
version: 1
default_claim_seconds: 90
queues:
  tech_support_l2: 300
  mortgage_advisors: 600.5
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "service_levels.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_queue_has_its_own_level_or_the_default(tmp_path: Path) -> None:
    levels = load_service_levels(write(tmp_path, VALID))

    assert levels.for_queue("tech_support_l2") == 300.0
    assert levels.for_queue("mortgage_advisors") == 600.5
    assert levels.for_queue("order_support") == 90.0
    assert levels.for_queue("a_queue_only_the_bot_named") == 90.0


def test_the_queues_section_may_be_left_out(tmp_path: Path) -> None:
    levels = load_service_levels(write(tmp_path, "version: 1\ndefault_claim_seconds: 45\n"))

    assert (levels.default_seconds, dict(levels.queues)) == (45.0, {})


def test_the_shipped_file_is_valid_and_names_known_queues() -> None:
    levels = load_service_levels(DEFAULT_SERVICE_LEVELS_PATH)

    assert levels.default_seconds > 0
    assert set(levels.queues) <= {
        "order_support",
        "tech_support_l2",
        "mortgage_advisors",
        "general_support",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "version: 1\ndefault_claim_seconds: 90\nqueues:\n  order_suport: 60\n",
            "queues.order_suport: unknown queue 'order_suport'; one of order_support,",
        ),
        (
            "version: 1\ndefault_claim_seconds: soon\n",
            "default_claim_seconds: must be a number, found text",
        ),
        (
            "version: 1\ndefault_claim_seconds: 0\n",
            "default_claim_seconds: must be between 1 and 86400, found 0",
        ),
        (
            "version: 1\ndefault_claim_seconds: 60\nqueues:\n  order_support: -5\n",
            "queues.order_support: must be between 1 and 86400, found -5",
        ),
        (
            "version: 1\ndefault_claim_seconds: 60\nqueues:\n",
            "queues: must be a mapping, found nothing",
        ),
        ("version: 1\nqueues: {}\n", "(top level): missing required key 'default_claim_seconds'"),
        ("version: 2\ndefault_claim_seconds: 60\n", "version: must be 1, found 2"),
        (
            "version: 1\ndefault_claim_seconds: 60\ndefault_claim_seconds: 70\n",
            "duplicate key 'default_claim_seconds'",
        ),
        ("version: 1\ndefault_claim_seconds: [60\n", "not valid YAML"),
    ],
)
def test_a_bad_file_is_refused_naming_the_file_and_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)

    with pytest.raises(ServiceLevelFileError) as refused:
        load_service_levels(path)

    assert str(refused.value).startswith(str(path))
    assert message in str(refused.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ServiceLevelFileError, match="cannot read the file"):
        load_service_levels(tmp_path / "nowhere.yml")


def test_the_check_command_reports_ok_or_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(write(tmp_path, VALID))]) == 0
    assert "OK: default 90 s; tech_support_l2 300 s, mortgage_advisors 600.5 s" in (
        capsys.readouterr().out
    )

    bad = tmp_path / "bad.yml"
    bad.write_text("version: 1\ndefault_claim_seconds: 60\nqueues:\n  nowhere: 5\n")
    assert main([str(bad)]) == 1
    assert "queues.nowhere: unknown queue" in capsys.readouterr().err
