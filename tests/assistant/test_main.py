"""`python -m assistant`: the project's changes to Rasa are installed before Rasa's CLI runs."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import pytest
import rasa.__main__
import rasa.shared.utils.io
import rasa.utils.log_utils
from rasa.core.actions.action import ActionSessionStart, RemoteAction
from rasa.core.agent import Agent
from rasa.core.processor import MessageProcessor
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.slots import Slot
from rasa.utils.endpoints import EndpointConfig
from rasa.utils.tensorflow.models import RasaModel

from assistant.__main__ import main, with_auth_token
from assistant.action_failure import TIMEOUT_VARIABLE
from assistant.log_masking import raise_warning_without_messages, redact_customer_text
from assistant.performance import (
    copy_slot,
    direct_rasa_predict,
    kept_session,
    validate_action_result,
)
from assistant.tracker_store import create_tracker_store
from logsupport.masking import MaskingRecordFactory


@pytest.fixture(autouse=True)
def restore_rasa(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Whatever `main()` replaces in Rasa is put back after each test."""
    monkeypatch.setattr(RemoteAction, "run", RemoteAction.run)
    monkeypatch.setattr(
        RemoteAction, "_validate_action_result", RemoteAction._validate_action_result
    )
    monkeypatch.setattr(Agent, "_create_tracker_store", staticmethod(Agent._create_tracker_store))
    monkeypatch.setattr(
        MessageProcessor, "_run_prediction_loop", MessageProcessor._run_prediction_loop
    )
    monkeypatch.setattr(ActionSessionStart, "run", ActionSessionStart.run)
    monkeypatch.setattr(RasaModel, "_rasa_predict", RasaModel._rasa_predict)
    monkeypatch.setattr(EndpointConfig, "session", EndpointConfig.session)
    monkeypatch.setattr(DaskGraphRunner, "run", DaskGraphRunner.run)
    # Removed again after the test (it was not there before); not yet `copy_slot` itself.
    monkeypatch.setattr(Slot, "__copy__", lambda slot: copy_slot(slot), raising=False)
    monkeypatch.setattr(rasa.utils.log_utils, "_anonymizer", rasa.utils.log_utils._anonymizer)
    monkeypatch.setattr(rasa.shared.utils.io, "raise_warning", rasa.shared.utils.io.raise_warning)
    factory = logging.getLogRecordFactory()
    yield
    logging.setLogRecordFactory(factory)
    logging.captureWarnings(False)


def test_main_installs_every_change_then_runs_rasa(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TIMEOUT_VARIABLE, raising=False)
    installed_when_rasa_ran: list[bool] = []

    def rasa_main() -> None:
        installed_when_rasa_ran.append(
            hasattr(RemoteAction.run, "__wrapped__")
            and RemoteAction._validate_action_result is validate_action_result
            and Agent._create_tracker_store is create_tracker_store
            and getattr(MessageProcessor._run_prediction_loop, "_pause_guard", False)
            and getattr(ActionSessionStart.run, "_pause_guard", False)
            and RasaModel._rasa_predict is direct_rasa_predict
            and EndpointConfig.session is kept_session
            and hasattr(DaskGraphRunner.run, "__wrapped__")
            and Slot.__copy__ is copy_slot
            and isinstance(logging.getLogRecordFactory(), MaskingRecordFactory)
            and rasa.utils.log_utils._anonymizer is redact_customer_text
            and rasa.shared.utils.io.raise_warning is raise_warning_without_messages
        )

    monkeypatch.setattr(rasa.__main__, "main", rasa_main)

    main()

    assert installed_when_rasa_ran == [True]


def test_a_wrong_action_timeout_stops_the_server_at_start_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(TIMEOUT_VARIABLE, "ten")
    monkeypatch.setattr(rasa.__main__, "main", lambda: pytest.fail("Rasa must not start"))

    with pytest.raises(ValueError, match=TIMEOUT_VARIABLE):
        main()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["assistant", "run", "--port", "5005"],
            ["assistant", "run", "--port", "5005", "--auth-token=-t0k"],
        ),
        (["assistant", "run", "--auth-token=mine"], ["assistant", "run", "--auth-token=mine"]),
        (
            ["assistant", "run", "--auth-token", "mine"],
            ["assistant", "run", "--auth-token", "mine"],
        ),
        (["assistant", "run", "actions"], ["assistant", "run", "actions"]),
        (["assistant", "shell"], ["assistant", "shell"]),
    ],
)
def test_the_api_token_comes_from_the_environment(argv: list[str], expected: list[str]) -> None:
    assert with_auth_token(argv, {"RASA_AUTH_TOKEN": "-t0k"}) == expected


def test_no_token_in_the_environment_leaves_the_api_as_rasa_has_it() -> None:
    assert with_auth_token(["assistant", "run"], {}) == ["assistant", "run"]


def test_main_hands_rasa_the_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TIMEOUT_VARIABLE, raising=False)
    monkeypatch.setenv("RASA_AUTH_TOKEN", "s3cret")
    monkeypatch.setattr("sys.argv", ["assistant", "run", "--enable-api"])
    seen: list[list[str]] = []
    monkeypatch.setattr(rasa.__main__, "main", lambda: seen.append(list(sys.argv)))

    main()

    assert seen == [["assistant", "run", "--enable-api", "--auth-token=s3cret"]]
