"""The branches and their signing slots (`desk.services.branches`)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from desk.services.branches import (
    DEFAULT_BRANCHES_PATH,
    BranchFileError,
    load_branches,
    main,
)

VALID = """\
version: 1
slot_minutes: 45
branches:
  leeds:
    name: Leeds
    address: 1 Park Row
    timezone: Europe/London
    desks: 2
    opening:
      monday: ["09:00-10:30", "13:00-14:00"]
      saturday: ["09:00-09:45"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "branches.yml"
    path.write_text(text, encoding="utf-8")
    return path


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def test_a_day_offers_whole_appointments_within_its_periods(tmp_path: Path) -> None:
    leeds = load_branches(write(tmp_path, VALID))["leeds"]

    # A winter Monday: London is on UTC. 09:00-10:30 fits two 45-minute signings, and
    # 13:00-14:00 one (13:45 would end after closing).
    assert leeds.slots_on(date(2026, 12, 7)) == [
        utc("2026-12-07T09:00"),
        utc("2026-12-07T09:45"),
        utc("2026-12-07T13:00"),
    ]
    assert leeds.slots_on(date(2026, 12, 8)) == []  # Tuesday: closed
    assert (leeds.name, leeds.address, leeds.desks) == ("Leeds", "1 Park Row", 2)


def test_slots_follow_the_branch_clock_in_summer(tmp_path: Path) -> None:
    leeds = load_branches(write(tmp_path, VALID))["leeds"]

    assert leeds.slots_on(date(2026, 7, 4)) == [utc("2026-07-04T08:00")]  # 09:00 BST


def test_the_shipped_file_is_valid_and_every_branch_opens_some_day() -> None:
    shipped = load_branches(DEFAULT_BRANCHES_PATH)

    assert shipped
    for branch in shipped.values():
        week = [date(2026, 12, 7 + offset) for offset in range(7)]
        assert any(branch.slots_on(day) for day in week), branch.key


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            VALID.replace('"13:00-14:00"', '"14:00-13:00"'),
            "branches.leeds.opening.monday[1]: '14:00-13:00' ends before it starts",
        ),
        (
            VALID.replace('"13:00-14:00"', '"10:00-11:00"'),
            "branches.leeds.opening.monday[1]: '10:00-11:00' overlaps '09:00-10:30'",
        ),
        (
            VALID.replace('"09:00-09:45"', '"09:00-09:30"'),
            "'09:00-09:30' is shorter than one appointment (45 minutes)",
        ),
        (
            VALID.replace("Europe/London", "Europe/Atlantis"),
            "branches.leeds.timezone: unknown time zone 'Europe/Atlantis'",
        ),
        (VALID.replace('"09:00-10:30"', '"9am-10:30"'), "branches.leeds.opening.monday[0]"),
        (VALID.replace("saturday:", "caturday:"), "branches.leeds.opening"),
        (VALID.replace("desks: 2", "desks: 0"), "branches.leeds.desks: must be between 1 and 50"),
        (VALID.replace("  leeds:", "  Leeds Branch:"), "branches"),
    ],
)
def test_a_broken_file_is_refused_naming_the_mistake(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)

    with pytest.raises(BranchFileError) as raised:
        load_branches(path)

    assert str(raised.value).startswith(str(path))
    assert message in str(raised.value)


def test_the_command_line_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(write(tmp_path, VALID))]) == 0
    assert "OK: 1 branches (leeds)" in capsys.readouterr().out
    assert main([str(write(tmp_path, VALID.replace("desks: 2", "desks: 0")))]) == 1
    assert "must be between 1 and 50" in capsys.readouterr().err
