"""The load balancer in front of the scaled system: HAProxy, from Debian's packages.

Why HAProxy and not nginx (docs/speed-and-scale.md, "Scale-out"): socket.io's long-polling
needs every request of a session to reach the Rasa process that opened it. Open-source nginx
can only stick by client address (`ip_hash`), which puts every client behind one proxy or NAT,
and every test client on loopback, on one process. HAProxy's `cookie ... insert` names the
process in a cookie and honours it on every later request: real stickiness per browser, with
the client address as a fall-back for clients that keep no cookies. It also health-checks each
process and takes a stopped one out of rotation, which open-source nginx does only passively.

The configuration is generated into `var/` from `launcher/haproxy.cfg.template` with the ports
of the run (`render_config`); it holds no secret.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Final

from launcher.stack import PROJECT_ROOT, Service

TEMPLATE: Final = Path(__file__).resolve().parent / "haproxy.cfg.template"
#: The cookie that keeps a web chat's socket.io session on its Rasa process.
WEBCHAT_COOKIE: Final = "rasa_node"
INSTALL_HINT: Final = (
    "HAProxy is not installed: run `sudo make balancer` (Debian's haproxy package), "
    "or put a haproxy binary on the PATH."
)


class BalancerMissing(RuntimeError):
    """No haproxy binary: the message says how to install it."""


@dataclass(frozen=True)
class Upstream:
    """One process behind the balancer: its name (the cookie value for Rasa) and port."""

    name: str
    port: int


@dataclass(frozen=True)
class BalancerPlan:
    """What the balancer listens on and what it balances."""

    host: str
    #: The desk's pages and API plus the web chat's Rasa routes, on one origin.
    site_port: int
    rasa_port: int
    actions_port: int
    stats_port: int
    rasa: tuple[Upstream, ...]
    actions: tuple[Upstream, ...]
    desks: tuple[Upstream, ...]

    @property
    def site_url(self) -> str:
        return f"http://{self.host}:{self.site_port}"

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://{self.host}:{self.actions_port}"

    @property
    def stats_url(self) -> str:
        return f"http://{self.host}:{self.stats_port}/"


#: The suffix of a process's second, unchecked entry in a backend (see the template).
BACKUP_SUFFIX: Final = "_unchecked"


def _servers(upstreams: tuple[Upstream, ...], *, cookie: bool = False) -> str:
    """Each process as a checked server, then again as an unchecked backup: used only when
    every checked one looks down, so a busy process is never taken for a dead one."""
    lines = []
    for backup in (False, True):
        for upstream in upstreams:
            name = upstream.name + (BACKUP_SUFFIX if backup else "")
            line = f"    server {name} 127.0.0.1:{upstream.port}"
            if cookie:
                line += f" cookie {upstream.name}"
            if backup:
                line += " backup no-check"
            lines.append(line)
    return "\n".join(lines)


def _health(plan: BalancerPlan) -> tuple[str, str]:
    """The stats frontend's ACLs, one per checked process, and the condition that they all
    hold: `/health` says 200 once the balancer's own checks see every process up."""
    backends = [("rasa_webchat", plan.rasa), ("actions", plan.actions), ("desk", plan.desks)]
    names = [
        (f"{upstream.name}_up", f"{backend}/{upstream.name}")
        for backend, upstreams in backends
        for upstream in upstreams
    ]
    acls = "\n".join(f"    acl {acl} srv_is_up({server})" for acl, server in names)
    return acls, " ".join(acl for acl, _ in names)


def render_config(plan: BalancerPlan) -> str:
    """The HAProxy configuration for `plan`, from the template."""
    template = Template(TEMPLATE.read_text(encoding="utf-8"))
    health_acls, health_condition = _health(plan)
    return template.substitute(
        host=plan.host,
        site_port=plan.site_port,
        rasa_port=plan.rasa_port,
        actions_port=plan.actions_port,
        stats_port=plan.stats_port,
        webchat_cookie=WEBCHAT_COOKIE,
        health_acls=health_acls,
        health_condition=health_condition,
        rasa_webchat_servers=_servers(plan.rasa, cookie=True),
        rasa_servers=_servers(plan.rasa),
        action_servers=_servers(plan.actions),
        desk_servers=_servers(plan.desks),
    )


def haproxy_binary() -> Path:
    """The haproxy executable (PATH, then Debian's /usr/sbin), or `BalancerMissing`."""
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise BalancerMissing(INSTALL_HINT)
    return Path(found)


def balancer_service(plan: BalancerPlan, config_dir: Path | None = None) -> Service:
    """HAProxy in the foreground with the configuration for `plan` (written to `config_dir`,
    `var/` by default); healthy once its stats frontend's `/health` says it sees every process
    up (start it after them)."""
    binary = haproxy_binary()
    directory = config_dir or PROJECT_ROOT / "var"
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "haproxy.cfg"
    config.write_text(render_config(plan), encoding="utf-8")
    return Service(
        "balancer",
        [str(binary), "-db", "-f", str(config)],
        f"http://{plan.host}:{plan.stats_port}/health",
        startup_timeout=20.0,
    )
