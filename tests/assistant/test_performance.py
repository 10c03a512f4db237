"""The cached validation of action server responses behaves exactly like Rasa's own."""

from __future__ import annotations

import asyncio
import copy
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from jsonschema import ValidationError, validate
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from assistant.performance import (
    KEEP_ALIVE_SECONDS,
    action_response_validator,
    copy_slot,
    event_check,
    install_cached_action_response_validation,
    install_kept_alive_endpoints,
    install_quick_slot_copies,
    kept_session,
    validate_action_result,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]

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


def _rasa_events() -> list[dict[str, Any]]:
    """One event of every kind, as Rasa itself writes them (the two legacy kinds, which Rasa
    now writes as `active_loop` and `loop_interrupted`, by hand)."""
    from rasa.shared.core import events

    made = [
        events.UserUttered("hi", {"name": "greet", "confidence": 0.9}, [], message_id="m1"),
        events.BotUttered("Hello", {"buttons": []}),
        events.SlotSet("order_number", "ORD-100002"),
        events.EntitiesAdded([{"entity": "order_number", "value": "ORD-1"}]),
        events.DefinePrevUserUtteredFeaturization(False),
        events.ReminderScheduled("EXTERNAL_reminder", datetime(2026, 12, 2), name="r"),
        events.ReminderCancelled(name="r"),
        events.ActionExecuted("action_order_status", policy="RulePolicy", confidence=1.0),
        events.ActionExecutionRejected("order_form"),
        events.LoopInterrupted(True),
        events.ActiveLoop("order_form"),
        events.ActiveLoop(None),
        events.AllSlotsReset(),
        events.ConversationResumed(),
        events.ConversationPaused(),
        events.FollowupAction("action_listen"),
        events.StoryExported(),
        events.Restarted(),
        events.UserUtteranceReverted(),
        events.ActionReverted(),
        events.SessionStarted(),
        events.AgentUttered("a person's words"),
    ]
    legacy = [{"event": "form", "name": "order_form"}, {"event": "form_validation", "validate": 1}]
    return [event.as_dict() for event in made] + legacy


def _variants(event: dict[str, Any], rng: random.Random) -> list[Any]:
    """The event broken in the ways an action server could break it."""
    kinds = [kind["properties"]["event"]["const"] for kind in _KINDS]
    broken: list[Any] = [
        {**event, "event": rng.choice(kinds)},  # another kind's name, this kind's fields
        {**event, "event": "no_such_kind"},
        {key: value for key, value in event.items() if key != "event"},
        {**event, "timestamp": "yesterday"},
        {**event, "metadata": []},
        "slot",
        None,
    ]
    for key in event:
        if key != "event":
            broken.append({k: v for k, v in event.items() if k != key})  # a field missing
            broken.append({**event, key: rng.choice([[], {}, 3, "x", None, True])})
    return broken


_KINDS = RemoteAction.action_response_format_spec()["properties"]["events"]["items"]["oneOf"]


def test_the_quick_event_check_agrees_with_the_full_validator_on_valid_and_broken_events() -> None:
    check = event_check()
    assert check is not None  # the spec is shaped as the quick check needs
    full = action_response_validator()
    rng = random.Random(13)
    valid = _rasa_events()
    assert {event["event"] for event in valid} == {
        kind["properties"]["event"]["const"] for kind in _KINDS
    }
    responses = [{"events": valid, "responses": [{"text": "ok"}]}, *VALID_RESPONSES]
    for event in valid:
        for variant in _variants(event, rng):
            responses.append({"events": [*rng.sample(valid, 3), variant]})
    responses += [*INVALID_RESPONSES, {"events": [{"event": 7}]}, {"responses": [{"text": 1}]}]

    verdicts = [(check.is_valid(response), full.is_valid(response)) for response in responses]

    assert all(quick == rasa for quick, rasa in verdicts), [
        response for response, (q, r) in zip(responses, verdicts, strict=True) if q != r
    ]
    assert sum(rasa for _, rasa in verdicts) > 20  # valid responses among the variants
    assert sum(not rasa for _, rasa in verdicts) > 100  # and many broken ones


def test_a_quick_slot_copy_is_the_copy_python_makes(monkeypatch: pytest.MonkeyPatch) -> None:
    domain = Domain.load(str(PROJECT_ROOT / "domain.yml"))
    slots = list(domain.slots)
    assert len({type(slot) for slot in slots}) >= 4  # text, bool, categorical, any, float...
    slots[0].value = ["a", "list"]
    made_by_python = [copy.copy(slot) for slot in slots]

    monkeypatch.setattr(Slot, "__copy__", copy_slot, raising=False)
    assert install_quick_slot_copies() is True
    quick = [copy.copy(slot) for slot in slots]

    for slot, python, ours in zip(slots, made_by_python, quick, strict=True):
        assert type(ours) is type(slot) and ours is not slot
        assert ours.__dict__ == python.__dict__ == slot.__dict__
        assert ours.value is slot.value  # shallow, as copy.copy
        ours.value = "changed"
        assert slot.value != "changed"

    tracker = DialogueStateTracker("copies", slots)
    tracker.update(SlotSet(slots[1].name, slots[1].value))
    assert tracker.copy().current_state() == tracker.current_state()
