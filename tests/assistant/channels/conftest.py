"""Fixtures shared by the channel tests."""

from __future__ import annotations

import pytest
from sanic import Sanic


@pytest.fixture(autouse=True)
def sanic_test_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several Sanic apps start in one process: test mode makes Sanic's start-up code
    rewriting ("touch-up") of its HTTP protocol start from the original each time."""
    monkeypatch.setattr(Sanic, "test_mode", True)
