"""Free loopback ports and SQLite URLs for an isolated copy of the system."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from harness.loopback import free_ports, sqlite_url


def test_free_ports_are_distinct_and_can_be_listened_on() -> None:
    ports = free_ports(5)

    assert len(set(ports)) == 5
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
            listener.bind(("127.0.0.1", port))


def test_sqlite_url_names_the_absolute_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    assert sqlite_url(Path("var/app.db")) == f"sqlite:///{tmp_path.resolve()}/var/app.db"
