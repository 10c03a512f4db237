"""`make run` / `make shell`: start the system's processes on loopback.

- `python -m launcher run`: the handoff inbox, the action server and the Rasa server, in the
  foreground until Ctrl-C.
- `python -m launcher shell`: the handoff inbox and the action server, then `rasa shell`.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from actions.store.seed import DEMO_ORDERS
from launcher.settings import LauncherSettings
from launcher.stack import (
    BIN,
    PROJECT_ROOT,
    ServiceFailedToStart,
    Stack,
    action_server,
    desk_server,
    rasa_server,
)
from settingsupport.environment import MissingSettingError

LOG_DIR = PROJECT_ROOT / "var" / "logs"


def _demo_orders() -> str:
    return "\n".join(f"    {number}  {status.value}" for number, status in DEMO_ORDERS.items())


def _supervise(stack: Stack) -> None:
    """Waits until Ctrl-C, SIGTERM or a child process dies."""
    stopped = False

    def _stop(*_: object) -> None:
        nonlocal stopped
        stopped = True

    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stopped:
            for name, running in list(stack.running.items()):
                if running.process.poll() is not None:
                    print(f"{name} stopped unexpectedly:\n{running.log_tail()}", file=sys.stderr)
                    stopped = True
            time.sleep(1.0)  # supervision interval
    except KeyboardInterrupt:
        pass


def main(mode: str = "run") -> int:
    """Starts the system; returns the exit code."""
    try:
        settings = LauncherSettings.from_env()
    except MissingSettingError as error:
        print(f"Could not start the system:\n{error}", file=sys.stderr)
        return 1
    stack = Stack(LOG_DIR)
    services = [desk_server(settings.desk_port), action_server(settings.action_server_port)]
    if mode == "run":
        services.append(rasa_server(settings.rasa_port, settings.rasa_auth_token))
    print(f"Starting {', '.join(service.name for service in services)}...", flush=True)
    try:
        stack.start_all(services)
        if mode == "shell":
            return subprocess.call([str(BIN / "rasa"), "shell"], cwd=PROJECT_ROOT)
        print(
            f"""
The support assistant is running.

  Chat in a terminal:  make shell   (in a second terminal, or instead of make run)
  Chat over HTTP:      curl -s localhost:{settings.rasa_port}/webhooks/rest/webhook \\
                         -d '{{"sender": "me", "message": "where is my order ORD-100005?"}}'
  Customer web chat:   http://127.0.0.1:{settings.desk_port}/chat
  Agent console:       http://127.0.0.1:{settings.desk_port}/console
                       agents: olivia (orders), leo (Level 2), maya (mortgages),
                       gus (customer service), sam (supervisor);
                       password: DESK_DEMO_PASSWORD in .env
  Logs:                {LOG_DIR.relative_to(PROJECT_ROOT)}/

  Demo orders:
{_demo_orders()}

  Also try: "I keep getting E-1042", "I want to apply for a mortgage", "agent".
Press Ctrl-C to stop.
""",
            flush=True,
        )
        _supervise(stack)
        return 0
    except ServiceFailedToStart as error:
        print(f"Could not start the system: {error}", file=sys.stderr)
        return 1
    finally:
        print("Stopping...", flush=True)
        stack.stop_all()


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
