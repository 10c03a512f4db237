"""How much memory a server uses: the resident set (RSS) of a process and its children (/proc).

RSS is what the process holds in RAM right now, shared libraries included (TensorFlow's are
most of a Rasa process). It is read from `VmRSS` in /proc/<pid>/status, for the process and
every process it started, so a server that forks workers is counted whole.
"""

from __future__ import annotations

from pathlib import Path

PROC = Path("/proc")
KIB_PER_MIB = 1024


def vmrss_kib(status_text: str) -> int:
    """The `VmRSS` of a /proc/<pid>/status text, in KiB (0 for a zombie, which has none)."""
    for line in status_text.splitlines():
        if line.startswith("VmRSS:"):
            value, unit = line.split()[1:3]
            if unit != "kB":
                raise ValueError(f"unexpected VmRSS unit {unit!r}")
            return int(value)
    return 0


def parent_pid(stat_text: str) -> int:
    """The parent's pid from a /proc/<pid>/stat text (the command name may hold spaces)."""
    return int(stat_text[stat_text.rindex(")") + 2 :].split()[1])


def descendants(pid: int, parents: dict[int, int]) -> set[int]:
    """Every process below `pid` in the `child -> parent` map."""
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _parents(proc: Path) -> dict[int, int]:
    parents = {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = parent_pid((entry / "stat").read_text())
            except (OSError, ValueError, IndexError):
                continue  # the process ended while we looked
    return parents


def process_tree_rss_kib(pid: int, proc: Path = PROC) -> int:
    """The RSS of `pid` and all its descendants, in KiB.

    Raises:
        ProcessLookupError: `pid` is not running.
    """
    try:
        total = vmrss_kib((proc / str(pid) / "status").read_text())
    except FileNotFoundError as error:
        raise ProcessLookupError(f"process {pid} is not running") from error
    for child in descendants(pid, _parents(proc)):
        try:
            total += vmrss_kib((proc / str(child) / "status").read_text())
        except OSError:
            continue  # the child ended while we looked
    return total


def mib(kib: float) -> float:
    """KiB to MiB."""
    return kib / KIB_PER_MIB
