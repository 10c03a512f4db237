"""The stock Rasa baseline: when a trained bot is reused, how `rasa init` is run, and how the
stock server is started (its own files, stock `rasa`, no project settings)."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks import stock_bot
from benchmarks.stock_bot import (
    MARKER_NAME,
    RASA_WITH_TOKEN_FROM_ENV,
    StockBot,
    StockBotFailed,
    init_argv,
    new_auth_token,
    prepare_stock_bot,
    stock_folder,
    stock_rasa_server,
    stock_variables,
    trained_bot,
)
from launcher.stack import BIN


def finished_init(folder: Path, rasa_version: str = "3.6.21") -> Path:
    """What a finished `rasa init` leaves: the bot's files, its model and the marker."""
    bot = folder / "bot"
    (bot / "models").mkdir(parents=True)
    (bot / "models" / "20261202-104529-echo.tar.gz").write_bytes(b"model")
    (bot / "endpoints.yml").write_text("# all commented out\n")
    (bot / "credentials.yml").write_text("rest:\n")
    marker = {"rasa": rasa_version, "model": "models/20261202-104529-echo.tar.gz"}
    (folder / MARKER_NAME).write_text(json.dumps(marker))
    return bot


def test_the_folder_is_per_rasa_version(tmp_path: Path) -> None:
    assert stock_folder("3.6.21", tmp_path) == tmp_path / "stock-rasa-3.6.21"
    assert stock_folder().parent.parts[-2:] == ("var", "bench")


def test_a_finished_init_for_the_same_rasa_is_reused(tmp_path: Path) -> None:
    bot = finished_init(tmp_path)
    assert trained_bot(tmp_path, "3.6.21") == StockBot(
        bot, bot / "models" / "20261202-104529-echo.tar.gz"
    )
    assert trained_bot(tmp_path, "3.6.22") is None  # another Rasa: train again


def test_a_half_done_init_is_not_reused(tmp_path: Path) -> None:
    assert trained_bot(tmp_path, "3.6.21") is None  # nothing there
    bot = finished_init(tmp_path)
    (bot / "endpoints.yml").unlink()
    assert trained_bot(tmp_path, "3.6.21") is None
    (tmp_path / MARKER_NAME).write_text("{not json")
    assert trained_bot(tmp_path, "3.6.21") is None


def test_prepare_reuses_without_running_rasa(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = finished_init(tmp_path, stock_bot.version("rasa"))

    def no_run(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("rasa init must not run")

    monkeypatch.setattr(stock_bot.subprocess, "run", no_run)
    assert prepare_stock_bot(tmp_path).directory == bot


def test_a_failed_init_says_why_and_is_not_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "stock"
    calls: list[dict[str, Any]] = []

    def failing_init(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        calls.append({"argv": argv, **kwargs})
        kwargs["stdout"].write(b"Training an initial model...\nOSError: disk full\n")
        return subprocess.CompletedProcess(argv, 1)

    monkeypatch.setattr(stock_bot.subprocess, "run", failing_init)
    with pytest.raises(StockBotFailed, match="exited with 1 and left 0 models") as failure:
        prepare_stock_bot(folder, {"PATH": "/bin", "RASA_AUTH_TOKEN": "secret"})
    assert "OSError: disk full" in str(failure.value)
    (call,) = calls
    assert call["argv"] == init_argv(folder / "bot")
    assert call["cwd"] == folder
    assert call["stdin"] == subprocess.DEVNULL  # never waits for an answer to a prompt
    assert call["env"]["RASA_CACHE_DIRECTORY"] == str(folder / "cache")
    assert "RASA_AUTH_TOKEN" not in call["env"]
    assert trained_bot(folder, stock_bot.version("rasa")) is None
    assert stat.S_IMODE((folder / "init.log").stat().st_mode) == 0o600  # its owner's alone


def test_init_asks_no_questions_and_uses_the_project_s_rasa(tmp_path: Path) -> None:
    assert init_argv(tmp_path) == [
        str(BIN / "rasa"),
        "init",
        "--no-prompt",
        "--init-dir",
        str(tmp_path),
    ]


def test_the_stock_server_gets_no_project_setting() -> None:
    base = {
        "PATH": "/usr/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "RASA_AUTH_TOKEN": "project-secret",
        "TRACKER_STORE_URL": "sqlite:///var/tracker.db",
        "RASA_TELEMETRY_ENABLED": "true",
    }
    assert stock_variables(base) == {
        "PATH": "/usr/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "RASA_TELEMETRY_ENABLED": "false",
    }


def test_the_stock_server_is_stock_rasa_with_the_bot_s_own_files(tmp_path: Path) -> None:
    bot = StockBot(tmp_path, tmp_path / "models" / "m.tar.gz")
    token = new_auth_token()
    service = stock_rasa_server(bot, 5123, token)
    argv = service.argv
    assert argv[:5] == [sys.executable, "-c", RASA_WITH_TOKEN_FROM_ENV, "run", "--enable-api"]
    assert "assistant" not in argv and "-m" not in argv  # none of this project's code
    # The token travels in the environment: `ps` shows the command line to every user.
    assert not any(token in arg for arg in argv)
    assert service.env == {"RASA_AUTH_TOKEN": token}
    options = dict(zip(argv[5::2], argv[6::2], strict=True))
    assert options == {
        "--port": "5123",
        "--interface": "127.0.0.1",
        "--model": str(bot.model),
        "--endpoints": str(tmp_path / "endpoints.yml"),
        "--credentials": str(tmp_path / "credentials.yml"),
    }
    assert service.health_url == "http://127.0.0.1:5123/"
    assert service.name == "stock-rasa"


def test_the_stock_server_hands_rasa_the_token_from_its_environment(tmp_path: Path) -> None:
    # A stand-in `rasa` package that shows what Rasa's command line would receive.
    (tmp_path / "rasa").mkdir()
    (tmp_path / "rasa" / "__init__.py").write_text("")
    (tmp_path / "rasa" / "__main__.py").write_text(
        "import os, sys\n"
        "def main():\n"
        "    print(sys.argv, 'RASA_AUTH_TOKEN' in os.environ)\n"
        "    return 0\n"
    )
    service = stock_rasa_server(StockBot(tmp_path, tmp_path / "m.tar.gz"), 5123, "-t0k")

    shown = subprocess.run(
        service.argv,
        env={"PYTHONPATH": str(tmp_path), **service.env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout

    assert shown.startswith("['rasa', 'run', '--enable-api', '--port', '5123',")
    # Last, as one word (a token may start with "-"), and gone from the environment after.
    assert shown.endswith("'--auth-token=-t0k'] False\n")


def test_each_run_gets_its_own_throwaway_token() -> None:
    tokens = {new_auth_token() for _ in range(5)}
    assert len(tokens) == 5
    assert all(len(token) == 32 and not token.startswith("-") for token in tokens)
