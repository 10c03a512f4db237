"""The cached validation of action server responses behaves exactly like Rasa's own."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import ValidationError, validate
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from assistant.performance import (
    action_response_validator,
    install_cached_action_response_validation,
    validate_action_result,
)

VALID_RESPONSES: list[dict[str, Any]] = [
    {"events": [], "responses": []},
    {
        "events": [{"event": "slot", "name": "order_number", "value": "ORD-100002"}],
        "responses": [{"text": "Order ORD-100002 has shipped.", "buttons": []}],
    },
    {"events": [{"event": "pause"}, {"event": "active_loop", "name": None}]},
]
INVALID_RESPONSES: list[dict[str, Any]] = [
    {"events": "not a list"},
    {"events": [{"no_event_key": 1}]},
    {"responses": "not a list"},
]


def remote_action() -> RemoteAction:
    return RemoteAction("action_order_status", EndpointConfig("http://127.0.0.1:9/webhook"))


@pytest.mark.parametrize("response", VALID_RESPONSES)
def test_valid_responses_pass_as_with_rasa(response: dict[str, Any]) -> None:
    validate(response, RemoteAction.action_response_format_spec())  # Rasa's way
    assert validate_action_result(remote_action(), response) is True


@pytest.mark.parametrize("response", INVALID_RESPONSES)
def test_invalid_responses_raise_the_same_error_as_rasa(response: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as rasa_error:
        RemoteAction._validate_action_result(remote_action(), response)
    with pytest.raises(ValidationError) as our_error:
        validate_action_result(remote_action(), response)

    assert our_error.value.message == rasa_error.value.message
    assert list(our_error.value.path) == list(rasa_error.value.path)
    assert "Failed to validate Action server response" in our_error.value.message


def test_the_validator_is_built_once() -> None:
    assert action_response_validator() is action_response_validator()


def test_installing_replaces_rasas_method(monkeypatch: pytest.MonkeyPatch) -> None:
    original = RemoteAction._validate_action_result
    monkeypatch.setattr(RemoteAction, "_validate_action_result", original)

    assert install_cached_action_response_validation() is True
    assert RemoteAction._validate_action_result is validate_action_result


def test_another_rasa_version_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    import rasa

    original = RemoteAction._validate_action_result
    monkeypatch.setattr(RemoteAction, "_validate_action_result", original)
    monkeypatch.setattr(rasa, "__version__", "3.7.0")

    assert install_cached_action_response_validation() is False
    assert RemoteAction._validate_action_result is original
