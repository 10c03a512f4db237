"""`make run` / `make shell`: start the system's processes on loopback.

- `python -m launcher run`: the handoff inbox, the action server and the Rasa server, in the
  foreground until Ctrl-C.
- `python -m launcher shell`: the handoff inbox and the action server, then `rasa shell`.
- `python -m launcher run-scaled`: several of each process behind HAProxy, on PostgreSQL,
  Redis and RabbitMQ (`launcher.scaled`), in the foreground until Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial

from actions.store.seed import DEMO_ORDERS
from launcher import scaled_databases
from launcher.preflight import missing_services
from launcher.scaled import (
    ScaledPlan,
    ScaledSettings,
    plan_from_settings,
    scaled_services,
    shared_environment,
)
from launcher.settings import LauncherSettings
from launcher.stack import (
    BIN,
    PROJECT_ROOT,
    Service,
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


def _scaled_banner(plan: ScaledPlan, log_dir: str) -> str:
    balancer = plan.balancer
    processes = "\n".join(
        f"    {upstream.name:<9} http://127.0.0.1:{upstream.port}"
        for upstream in (*balancer.rasa, *balancer.actions, *balancer.desks)
    )
    databases = ", ".join(url.rsplit("/", 1)[1] for url in plan.shared.databases.all().values())
    return f"""
The support assistant is running on several processes, behind HAProxy.

  Customer web chat:   {balancer.site_url}/chat
  Agent console:       {balancer.site_url}/console   (same agents and password as make run)
  Chat over HTTP:      curl -s {balancer.rasa_url}/webhooks/rest/webhook \\
                         -d '{{"sender": "me", "message": "where is my order ORD-100005?"}}'
  Balancer status:     {balancer.stats_url}
  Processes:
{processes}
  Shared:              PostgreSQL databases {databases};
                       Redis {plan.shared.redis_url}; RabbitMQ exchange
                       {plan.shared.event_exchange}, queue {plan.shared.event_queue}
  Logs:                {log_dir}/
Press Ctrl-C to stop.
"""


def run_scaled() -> int:
    """`make run-scaled`: checks the shared services, prepares the databases, starts every
    process and the balancer; returns the exit code."""
    try:
        settings = ScaledSettings.from_env()
    except MissingSettingError as error:
        print(f"Could not start the scaled system:\n{error}", file=sys.stderr)
        return 1
    missing = missing_services(settings.postgres_url, settings.redis_url, settings.rabbitmq_url)
    if missing:
        lines = "\n".join(f"  - {problem}" for problem in missing)
        print(f"Could not start the scaled system; missing:\n{lines}", file=sys.stderr)
        return 1
    plan = plan_from_settings(settings)
    created = scaled_databases.prepare(
        settings.postgres_url, plan.shared.databases, settings.demo_password
    )
    if created:
        print(f"Created the databases {', '.join(created)} on PostgreSQL.", flush=True)
    log_dir = LOG_DIR / "scaled"
    stack = Stack(log_dir, {**os.environ, **shared_environment(plan)})
    banner = _scaled_banner(plan, str(log_dir.relative_to(PROJECT_ROOT)))
    return _serve(
        stack, scaled_services(plan), "the scaled system", partial(_until_stopped, stack, banner)
    )


def _serve(stack: Stack, services: list[Service], what: str, started: Callable[[], int]) -> int:
    """Starts `services`, runs `started` once all are healthy, and always stops them; returns
    the exit code (1 if one did not start)."""
    print(f"Starting {', '.join(service.name for service in services)}...", flush=True)
    try:
        stack.start_all(services)
        return started()
    except ServiceFailedToStart as error:
        print(f"Could not start {what}: {error}", file=sys.stderr)
        return 1
    finally:
        print("Stopping...", flush=True)
        stack.stop_all()


def _until_stopped(stack: Stack, banner: str) -> int:
    """Prints where to go, then supervises until Ctrl-C, SIGTERM or a process dies."""
    print(banner, flush=True)
    _supervise(stack)
    return 0


def main(mode: str = "run") -> int:
    """Starts the system; returns the exit code."""
    if mode == "run-scaled":
        return run_scaled()
    try:
        settings = LauncherSettings.from_env()
    except MissingSettingError as error:
        print(f"Could not start the system:\n{error}", file=sys.stderr)
        return 1
    stack = Stack(LOG_DIR)
    services = [desk_server(settings.desk_port), action_server(settings.action_server_port)]
    if mode == "run":
        services.append(rasa_server(settings.rasa_port, settings.rasa_auth_token))
    if mode == "shell":
        shell = partial(subprocess.call, [str(BIN / "rasa"), "shell"], cwd=PROJECT_ROOT)
        return _serve(stack, services, "the system", shell)
    banner = f"""
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
"""
    return _serve(stack, services, "the system", partial(_until_stopped, stack, banner))


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
