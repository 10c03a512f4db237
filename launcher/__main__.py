"""`make run` / `make shell`: start the system's processes on loopback.

- `python -m launcher run`: the desk, the action server and the Rasa server, in the
  foreground until Ctrl-C; a process that dies is restarted (`launcher.supervision`).
- `python -m launcher shell`: the desk and the action server, then `rasa shell`.
- `python -m launcher run-scaled`: several of each process behind HAProxy, on PostgreSQL,
  Redis and RabbitMQ (`launcher.scaled`), in the foreground until Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

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
from launcher.settings import LauncherSettings, SupervisionSettings
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
from launcher.supervision import RestartPolicy, supervise
from settingsupport.environment import MissingSettingError


def _demo_orders() -> str:
    return "\n".join(f"    {number}  {status.value}" for number, status in DEMO_ORDERS.items())


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


def _shown(path: Path) -> str:
    """A path as the banner shows it: relative to the project when inside it."""
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def _restart_policy(supervision: SupervisionSettings) -> RestartPolicy:
    return RestartPolicy(
        max_restarts=supervision.max_restarts,
        window_seconds=supervision.restart_window_seconds,
    )


def run_scaled() -> int:
    """`make run-scaled`: checks the shared services, prepares the databases, starts every
    process and the balancer; returns the exit code."""
    try:
        settings = ScaledSettings.from_env()
        supervision = SupervisionSettings.from_env()
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
    log_dir = supervision.log_dir / "scaled"
    stack = Stack(log_dir, {**os.environ, **shared_environment(plan)})
    banner = _scaled_banner(plan, _shown(log_dir))
    supervised = partial(_until_stopped, stack, banner, _restart_policy(supervision))
    return _serve(stack, scaled_services(plan), "the scaled system", supervised)


def _serve(stack: Stack, services: list[Service], what: str, started: Callable[[], int]) -> int:
    """Starts `services`, runs `started` once all are healthy, and always stops them; returns
    the exit code (1 if one did not start)."""
    # SIGTERM stops the system as Ctrl-C does, at any moment (even while it starts).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(f"Starting {', '.join(service.name for service in services)}...", flush=True)
    try:
        stack.start_all(services)
        return started()
    except ServiceFailedToStart as error:
        print(f"Could not start {what}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        print("Stopping...", flush=True)
        stack.stop_all()


def _until_stopped(stack: Stack, banner: str, policy: RestartPolicy) -> int:
    """Prints where to go, then restarts processes that die until Ctrl-C or SIGTERM (0), or
    until one dies too often (1)."""
    print(banner, flush=True)
    return supervise(stack, policy)


def main(mode: str = "run") -> int:
    """Starts the system; returns the exit code."""
    if mode == "run-scaled":
        return run_scaled()
    try:
        settings = LauncherSettings.from_env()
        supervision = SupervisionSettings.from_env()
    except MissingSettingError as error:
        print(f"Could not start the system:\n{error}", file=sys.stderr)
        return 1
    stack = Stack(supervision.log_dir)
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
  Logs:                {_shown(supervision.log_dir)}/

  Demo orders:
{_demo_orders()}

  Also try: "I keep getting E-1042", "I want to apply for a mortgage", "agent".
Press Ctrl-C to stop.
"""
    supervised = partial(_until_stopped, stack, banner, _restart_policy(supervision))
    return _serve(stack, services, "the system", supervised)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
