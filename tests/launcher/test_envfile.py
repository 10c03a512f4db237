"""`.env` from `.env.example`: secrets generated once, existing values kept, new keys added."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from launcher.envfile import PLACEHOLDER, main, parse_env, render_env
from launcher.stack import PROJECT_ROOT

EXAMPLE = """\
# Ports
RASA_PORT=5005

# Secrets
RASA_AUTH_TOKEN=generate-me
HANDOFF_SECRET = generate-me
HANDOFF_URL=http://127.0.0.1:8080/api/handoffs?a=b
"""


@pytest.fixture
def example(tmp_path: Path) -> Path:
    path = tmp_path / ".env.example"
    path.write_text(EXAMPLE)
    return path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_parse_env_reads_key_value_lines() -> None:
    assert parse_env(EXAMPLE + "\n  # indented comment\nnot a setting\nEMPTY=\n") == {
        "RASA_PORT": "5005",
        "RASA_AUTH_TOKEN": PLACEHOLDER,
        "HANDOFF_SECRET": PLACEHOLDER,
        "HANDOFF_URL": "http://127.0.0.1:8080/api/handoffs?a=b",
        "EMPTY": "",
    }


def test_render_env_generates_a_different_secret_for_each_placeholder() -> None:
    values = parse_env(render_env(EXAMPLE, {}))

    secrets = [values["RASA_AUTH_TOKEN"], values["HANDOFF_SECRET"]]
    assert PLACEHOLDER not in secrets
    assert len(set(secrets)) == 2
    assert all(len(secret) >= 40 for secret in secrets)  # 32 random bytes, base64url
    assert values["RASA_PORT"] == "5005"


def test_render_env_keeps_comments_and_order() -> None:
    rendered = render_env(EXAMPLE, {}).splitlines()

    assert rendered[0] == "# Ports"
    assert rendered[1] == "RASA_PORT=5005"
    assert rendered[3] == "# Secrets"
    assert rendered[5].startswith("HANDOFF_SECRET=")  # spaces around "=" normalised


def test_render_env_keeps_existing_values_and_extra_keys() -> None:
    existing = {"RASA_AUTH_TOKEN": "mine", "RASA_PORT": "6005", "MY_OWN": "kept"}

    values = parse_env(render_env(EXAMPLE, existing))

    assert values["RASA_AUTH_TOKEN"] == "mine"
    assert values["RASA_PORT"] == "6005"
    assert values["MY_OWN"] == "kept"
    assert values["HANDOFF_SECRET"] != PLACEHOLDER


def test_main_writes_a_private_env_file(
    example: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / ".env"

    assert main(str(example), str(target)) == 0

    assert mode(target) == 0o600
    assert set(parse_env(target.read_text())) == set(parse_env(EXAMPLE))
    assert capsys.readouterr().out == (
        f"{target}: added HANDOFF_SECRET, HANDOFF_URL, RASA_AUTH_TOKEN, RASA_PORT\n"
    )


def test_running_again_keeps_the_secrets_and_adds_new_keys(
    example: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / ".env"
    main(str(example), str(target))
    first = parse_env(target.read_text())
    target.chmod(0o644)
    example.write_text(EXAMPLE + "NEW_SECRET=generate-me\nNEW_PORT=9000\n")
    capsys.readouterr()

    main(str(example), str(target))

    second = parse_env(target.read_text())
    assert {key: second[key] for key in first} == first
    assert second["NEW_PORT"] == "9000"
    assert second["NEW_SECRET"] not in {PLACEHOLDER, *first.values()}
    assert mode(target) == 0o600
    assert capsys.readouterr().out == f"{target}: added NEW_PORT, NEW_SECRET\n"


def test_running_with_nothing_new_prints_nothing(
    example: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / ".env"
    main(str(example), str(target))
    before = target.read_text()
    capsys.readouterr()

    main(str(example), str(target))

    assert target.read_text() == before
    assert capsys.readouterr().out == ""


def test_the_projects_example_gets_every_secret_filled(tmp_path: Path) -> None:
    example = PROJECT_ROOT / ".env.example"
    target = tmp_path / ".env"

    main(str(example), str(target))

    values = parse_env(target.read_text())
    assert set(values) == set(parse_env(example.read_text()))
    assert PLACEHOLDER not in values.values()
    for secret in ("RASA_AUTH_TOKEN", "ACTION_SERVER_TOKEN", "HANDOFF_SECRET"):
        assert values[secret]
