"""Reading a server's resident memory from /proc: parsing, the process tree, the sum."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.memory import descendants, mib, parent_pid, process_tree_rss_kib, vmrss_kib

STATUS = "Name:\tpython\nState:\tS (sleeping)\nVmPeak:\t 3095784 kB\nVmRSS:\t 1129272 kB\n"


def test_vmrss_is_read_in_kib() -> None:
    assert vmrss_kib(STATUS) == 1_129_272
    assert vmrss_kib("Name:\tzombie\nState:\tZ (zombie)\n") == 0
    with pytest.raises(ValueError, match="unit"):
        vmrss_kib("VmRSS:\t 12 MB\n")
    assert mib(1_048_576) == 1024.0


def test_the_parent_is_found_after_a_command_name_with_spaces_and_parentheses() -> None:
    assert parent_pid("4242 (rasa (main) x) S 17 4242 4242 0 -1") == 17


def test_descendants_are_children_and_their_children() -> None:
    parents = {10: 1, 11: 10, 12: 10, 13: 11, 20: 1, 21: 20}
    assert descendants(10, parents) == {11, 12, 13}
    assert descendants(13, parents) == set()


def fake_process(proc: Path, pid: int, parent: int, rss_kib: int) -> None:
    (proc / str(pid)).mkdir()
    (proc / str(pid) / "stat").write_text(f"{pid} (python) S {parent} {pid} {pid} 0")
    (proc / str(pid) / "status").write_text(f"Name:\tpython\nVmRSS:\t {rss_kib} kB\n")


def test_the_rss_of_a_server_includes_its_workers(tmp_path: Path) -> None:
    fake_process(tmp_path, 100, 1, 1000)
    fake_process(tmp_path, 101, 100, 200)
    fake_process(tmp_path, 102, 101, 30)
    fake_process(tmp_path, 200, 1, 5000)  # another process: not counted
    (tmp_path / "self").mkdir()  # not a pid: ignored
    assert process_tree_rss_kib(100, tmp_path) == 1230
    assert process_tree_rss_kib(102, tmp_path) == 30
    with pytest.raises(ProcessLookupError, match="process 999 is not running"):
        process_tree_rss_kib(999, tmp_path)


def test_the_rss_of_this_process_is_read_from_the_real_proc() -> None:
    # A Python interpreter with pytest loaded holds well over 10 MiB.
    assert process_tree_rss_kib(os.getpid()) > 10 * 1024
