"""How much of the machine other processes used while the benchmark measured (Linux /proc).

The benchmark's own processes keep a 2-core machine busy, so the load average says nothing
about outside noise. Instead: the CPU time the whole machine spent busy, minus the CPU time
of this process and everything it started, over the CPU time available.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class CpuSnapshot:
    """Busy clock ticks of the machine and of our process tree at one moment."""

    wall_seconds: float
    machine_busy_ticks: int
    our_ticks: int


def _machine_busy_ticks() -> int:
    # cpu  user nice system idle iowait irq softirq steal ...
    fields = (PROC / "stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return user + nice + system + irq + softirq + steal


def _stat_fields(pid: int) -> list[str]:
    text = (PROC / str(pid) / "stat").read_text()
    # Fields after the command name, which may itself contain spaces and parentheses.
    return text[text.rindex(")") + 2 :].split()


def _parents() -> dict[int, int]:
    parents = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(_stat_fields(int(entry.name))[1])
            except (OSError, ValueError, IndexError):
                continue  # the process ended while we looked
    return parents


def _our_pids() -> set[int]:
    parents = _parents()
    ours = {os.getpid()}
    grew = True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in ours} - ours
        ours |= children
        grew = bool(children)
    return ours


def _process_ticks(pid: int) -> int:
    try:
        fields = _stat_fields(pid)
    except OSError:
        return 0
    # utime stime cutime cstime: children that ended and were waited for count too.
    return sum(int(value) for value in fields[11:15])


def cpu_snapshot() -> CpuSnapshot | None:
    """The current busy ticks, or None where /proc is not available."""
    try:
        machine = _machine_busy_ticks()
    except (OSError, ValueError, IndexError):
        return None
    ours = sum(_process_ticks(pid) for pid in _our_pids())
    return CpuSnapshot(time.monotonic(), machine, ours)


def other_cpu_share(start: CpuSnapshot | None, end: CpuSnapshot | None) -> float | None:
    """The fraction (0..1) of all CPUs that other processes used between the snapshots."""
    if start is None or end is None or end.wall_seconds <= start.wall_seconds:
        return None
    ticks_per_second = os.sysconf("SC_CLK_TCK")
    available = (end.wall_seconds - start.wall_seconds) * ticks_per_second * (os.cpu_count() or 1)
    others = (end.machine_busy_ticks - start.machine_busy_ticks) - (end.our_ticks - start.our_ticks)
    return max(0.0, others / available)
