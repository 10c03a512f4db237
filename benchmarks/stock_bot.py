"""Stock Rasa, the yardstick of issue 13: the `rasa init` bot served by `rasa run --enable-api`.

The issue's speed and memory targets are ratios to stock Rasa measured in the same run, so the
benchmark ships the baseline instead of trusting a number measured once by hand:

- `rasa init --no-prompt` (the moodbot) with this project's own venv, so both bots run the same
  Rasa, TensorFlow and Python. `rasa init` trains the bot as part of the init (about 2 min on
  the 2-core machine). The bot is kept in var/bench/stock-rasa-<rasa version>/ and reused by
  later runs as long as the Rasa version is the same; a failed or half-done init is started over.
- `rasa run --enable-api` (the `rasa` console script, not `python -m assistant`: none of this
  project's code or speed fixes), on a free loopback port, with the bot's own endpoints.yml and
  credentials.yml: its default in-memory tracker store, in-memory lock store, no event broker, no
  action server, the REST channel. Telemetry is off.

The process gets a small environment of its own (PATH, HOME, locale), not the project's: the
stock bot has no use for the project's secrets, and no project setting can change its speed.

Its HTTP API token is a random throwaway value, set (rather than leaving the API open) because
the benchmark reads trackers through the API to check the bot ran the expected actions, and an
open API would let any local process replace the model mid-measurement. Stock Rasa takes it only
as `--auth-token`, and a command line is public on the machine (`ps`): so the process gets it in
RASA_AUTH_TOKEN and appends the option to its own `sys.argv` before handing over to Rasa's
command line (`RASA_WITH_TOKEN_FROM_ENV`, which imports nothing of this project).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from launcher.stack import BIN, PROJECT_ROOT, Service
from logsupport.private_files import open_private

#: Where the stock bots live, one folder per Rasa version (var/ is never committed).
STOCK_ROOT = PROJECT_ROOT / "var" / "bench"
#: Written last by a successful init: the Rasa version and the model it trained.
MARKER_NAME = "trained.json"
#: The environment variables the stock server inherits from ours (no project settings).
INHERITED_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ")
#: `rasa init` trains two TED policies; 15 minutes is far beyond a slow day's 3.
INIT_TIMEOUT_SECONDS = 900.0


class StockBotFailed(RuntimeError):
    """`rasa init` failed or did not leave a model; the message shows its log tail."""


@dataclass(frozen=True)
class StockBot:
    """A trained `rasa init` bot in its folder."""

    directory: Path
    model: Path

    @property
    def endpoints(self) -> Path:
        """The bot's endpoints.yml (all commented out: in-memory stores, no broker)."""
        return self.directory / "endpoints.yml"

    @property
    def credentials(self) -> Path:
        """The bot's credentials.yml (the REST channel)."""
        return self.directory / "credentials.yml"


def stock_folder(rasa_version: str | None = None, root: Path = STOCK_ROOT) -> Path:
    """The folder of the stock bot for this Rasa version (default: the installed one)."""
    return root / f"stock-rasa-{rasa_version or version('rasa')}"


def trained_bot(folder: Path, rasa_version: str) -> StockBot | None:
    """The bot a finished init left in `folder` for `rasa_version`, else None."""
    try:
        marker = json.loads((folder / MARKER_NAME).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("rasa") != rasa_version:
        return None
    bot = StockBot(folder / "bot", folder / "bot" / str(marker.get("model", "")))
    if not bot.model.is_file() or not bot.endpoints.is_file() or not bot.credentials.is_file():
        return None
    return bot


def stock_variables(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The stock server's environment: PATH, HOME and the locale from `base`, telemetry off."""
    source = os.environ if base is None else base
    variables = {name: source[name] for name in INHERITED_VARIABLES if name in source}
    variables["RASA_TELEMETRY_ENABLED"] = "false"
    return variables


def init_argv(bot_directory: Path) -> list[str]:
    """`rasa init` with no questions asked, into `bot_directory` (which must exist)."""
    return [str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(bot_directory)]


def prepare_stock_bot(
    folder: Path | None = None, base: Mapping[str, str] | None = None
) -> StockBot:
    """The trained stock bot: reused from `folder` if a finished init for this Rasa is there,
    else made there now with `rasa init --no-prompt` (which trains it)."""
    rasa_version = version("rasa")
    folder = folder or stock_folder(rasa_version)
    reused = trained_bot(folder, rasa_version)
    if reused is not None:
        print(f"Stock Rasa bot: reusing {reused.model}", flush=True)
        return reused
    print(f"Stock Rasa bot: `rasa init --no-prompt` into {folder} (trains, ~2 min)...", flush=True)
    shutil.rmtree(folder, ignore_errors=True)
    bot_directory = folder / "bot"
    bot_directory.mkdir(parents=True)
    log_path = folder / "init.log"
    # A cache of its own: the shared .rasa/cache of the project is never touched.
    env = {**stock_variables(base), "RASA_CACHE_DIRECTORY": str(folder / "cache")}
    with open_private(log_path) as log:
        try:
            completed = subprocess.run(
                init_argv(bot_directory),
                cwd=folder,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=INIT_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise StockBotFailed(
                f"rasa init did not finish in {INIT_TIMEOUT_SECONDS:.0f} s:\n{_tail(log_path)}"
            ) from error
    models = sorted((bot_directory / "models").glob("*.tar.gz"))
    if completed.returncode != 0 or not models:
        raise StockBotFailed(
            f"rasa init exited with {completed.returncode} and left "
            f"{len(models)} models:\n{_tail(log_path)}"
        )
    model = models[-1].relative_to(bot_directory)
    (folder / MARKER_NAME).write_text(json.dumps({"rasa": rasa_version, "model": str(model)}))
    bot = trained_bot(folder, rasa_version)
    if bot is None:
        raise StockBotFailed(f"rasa init left no endpoints.yml or credentials.yml in {folder}")
    return bot


def _tail(log_path: Path, lines: int = 30) -> str:
    return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])


def new_auth_token() -> str:
    """A throwaway token for the stock server's HTTP API (see the module docstring)."""
    # Hex: a value starting with "-" would be read as an option on the command line.
    return secrets.token_hex(16)


#: `rasa ...` as Rasa's console script runs it, with `--auth-token=$RASA_AUTH_TOKEN` added
#: inside the process (as one `--option=value` word: a token may start with "-").
RASA_WITH_TOKEN_FROM_ENV = (
    "import os, sys\n"
    "sys.argv = ['rasa', *sys.argv[1:], '--auth-token=' + os.environ.pop('RASA_AUTH_TOKEN')]\n"
    "from rasa.__main__ import main\n"
    "sys.exit(main())\n"
)


def stock_rasa_server(bot: StockBot, port: int, auth_token: str) -> Service:
    """`rasa run --enable-api` of the stock bot on loopback, with its own endpoints and
    credentials (the process starts in the project's folder, so they are named explicitly);
    the token goes in its environment, never on its command line."""
    argv = [
        sys.executable,
        "-c",
        RASA_WITH_TOKEN_FROM_ENV,
        "run",
        "--enable-api",
        "--port",
        str(port),
        "--interface",
        "127.0.0.1",
        "--model",
        str(bot.model),
        "--endpoints",
        str(bot.endpoints),
        "--credentials",
        str(bot.credentials),
    ]
    return Service(
        "stock-rasa", argv, f"http://127.0.0.1:{port}/", env={"RASA_AUTH_TOKEN": auth_token}
    )
