"""What every test run shares: the tests that run for minutes start first; the chaos suite's
summary (`tests.chaos.report`, a plugin so that pytest-xdist's controller has it too).

`make unit` and `make e2e` run on several pytest-xdist workers. A test of several minutes
that a worker reaches late ends the run minutes after everything else; started first, it
runs while the other workers share out the rest.
"""

from __future__ import annotations

import pytest

pytest_plugins = ("tests.chaos.report",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests marked `long_running` first, everything else in its order."""
    items.sort(key=lambda item: item.get_closest_marker("long_running") is None)
