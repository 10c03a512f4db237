"""The cached validation of action server responses behaves exactly like Rasa's own."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from jsonschema import ValidationError, validate
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from assistant.performance import (
    KEEP_ALIVE_SECONDS,
    action_response_validator,
    install_cached_action_response_validation,
    install_kept_alive_endpoints,
    kept_session,
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


# --- the kept-alive connection to the action server ------------------------------------------


class _CountingServer:
    """An aiohttp server on loopback that counts the TCP connections it accepts."""

    def __init__(self) -> None:
        self.connections: set[object] = set()
        self.requests: list[tuple[str, str | None]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.connections.add(request.transport)
        self.requests.append((request.query.get("token", ""), request.headers.get("X-Test")))
        return web.json_response({"events": [], "responses": []})


async def _calls(endpoint: EndpointConfig, server: _CountingServer, count: int) -> list[Any]:
    app = web.Application()
    app.router.add_post("/webhook", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    endpoint.url = f"http://127.0.0.1:{port}/webhook"
    try:
        return [await endpoint.request(json={"n": n}, method="post") for n in range(count)]
    finally:
        async with endpoint.session() as session:
            await session.close()
        await runner.cleanup()


def test_rasa_opens_a_connection_per_action_call(monkeypatch: pytest.MonkeyPatch) -> None:
    server = _CountingServer()
    endpoint = EndpointConfig("http://placeholder", token="t0k")

    answers = asyncio.run(_calls(endpoint, server, 3))

    assert answers == [{"events": [], "responses": []}] * 3
    assert len(server.connections) == 3


def test_kept_session_calls_the_action_server_over_one_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(EndpointConfig, "session", EndpointConfig.session)
    assert install_kept_alive_endpoints() is True
    server = _CountingServer()
    endpoint = EndpointConfig("http://placeholder", token="t0k", headers={"X-Test": "yes"})

    answers = asyncio.run(_calls(endpoint, server, 3))

    assert answers == [{"events": [], "responses": []}] * 3
    assert len(server.connections) == 1
    # The token and the endpoint's headers still go with every call.
    assert server.requests == [("t0k", "yes")] * 3


def test_a_new_event_loop_gets_a_new_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(EndpointConfig, "session", kept_session)
    endpoint = EndpointConfig("http://placeholder")

    async def session_of_this_loop() -> aiohttp.ClientSession:
        async with endpoint.session() as session:
            return session

    first = asyncio.run(session_of_this_loop())
    second = asyncio.run(session_of_this_loop())

    assert first is not second
    assert first.connector is not None and first.connector._keepalive_timeout == KEEP_ALIVE_SECONDS
