"""The balancer's configuration: what it balances, how it sticks, and that HAProxy accepts it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from launcher.balancer import WEBCHAT_COOKIE, balancer_service, haproxy_binary, render_config
from launcher.scaled import balancer_plan

PLAN = balancer_plan(
    site_port=18080,
    rasa_port=15005,
    actions_port=15055,
    stats_port=18404,
    rasa_ports=[17001, 17002],
    action_ports=[17011, 17012],
    desk_ports=[17021, 17022],
)


def _backend(config: str, name: str) -> list[str]:
    """The lines of one backend section."""
    lines = config.splitlines()
    start = lines.index(f"backend {name}")
    section = []
    for line in lines[start + 1 :]:
        if line and not line.startswith(" "):
            break
        section.append(line.strip())
    return [line for line in section if line and not line.startswith("#")]


def test_web_chat_sessions_stick_to_their_rasa_process_by_cookie() -> None:
    webchat = _backend(render_config(PLAN), "rasa_webchat")
    assert f"cookie {WEBCHAT_COOKIE} insert indirect nocache httponly" in webchat
    assert "server rasa1 127.0.0.1:17001 cookie rasa1" in webchat
    assert "server rasa2 127.0.0.1:17002 cookie rasa2" in webchat
    assert "option persist" in webchat, "a busy session's process keeps it"


def test_requests_without_a_session_are_spread_over_every_process() -> None:
    config = render_config(PLAN)
    for backend, servers in [
        ("rasa", ["rasa1 127.0.0.1:17001", "rasa2 127.0.0.1:17002"]),
        ("actions", ["actions1 127.0.0.1:17011", "actions2 127.0.0.1:17012"]),
        ("desk", ["desk1 127.0.0.1:17021", "desk2 127.0.0.1:17022"]),
    ]:
        lines = _backend(config, backend)
        assert "balance roundrobin" in lines, backend
        assert [f"server {server}" for server in servers] == [
            line for line in lines if line.startswith("server ") and "backup" not in line
        ]
        assert not any(line.startswith("cookie") for line in lines), backend


def test_every_process_is_also_an_unchecked_backup_so_a_busy_one_is_never_taken_for_dead() -> None:
    config = render_config(PLAN)
    assert "option allbackups" in config
    assert "server rasa1_unchecked 127.0.0.1:17001 cookie rasa1 backup no-check" in _backend(
        config, "rasa_webchat"
    )
    for backend, name, port in [("rasa", "rasa2", 17002), ("desk", "desk1", 17021)]:
        assert f"server {name}_unchecked 127.0.0.1:{port} backup no-check" in _backend(
            config, backend
        )


def test_the_site_serves_the_web_chats_rasa_routes_on_the_desks_origin() -> None:
    config = render_config(PLAN)
    assert "bind 127.0.0.1:18080" in config
    assert "acl to_webchat path_beg /socket.io/" in config
    assert "use_backend rasa_webchat if to_webchat" in config
    assert "acl to_rasa path_beg /webhooks/ /conversations/" in config
    assert "default_backend desk" in config


def test_the_balancer_is_healthy_only_once_it_sees_every_checked_process_up() -> None:
    config = render_config(PLAN)
    assert "monitor-uri /health" in config
    names = ["rasa1", "rasa2", "actions1", "actions2", "desk1", "desk2"]
    assert "monitor fail unless " + " ".join(f"{name}_up" for name in names) in config
    assert "acl rasa2_up srv_is_up(rasa_webchat/rasa2)" in config
    assert "acl desk1_up srv_is_up(desk/desk1)" in config
    assert "nbsrv(" not in config, "nbsrv counts the unchecked backups"


def test_haproxy_accepts_the_generated_configuration(tmp_path: Path) -> None:
    try:
        binary = haproxy_binary()
    except Exception as missing:  # the scaled tests need it: `make balancer` installs it
        pytest.fail(str(missing))
    service = balancer_service(PLAN, tmp_path)
    config = tmp_path / "haproxy.cfg"
    assert service.argv == [str(binary), "-db", "-f", str(config)]
    checked = subprocess.run(
        [str(binary), "-c", "-f", str(config)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
