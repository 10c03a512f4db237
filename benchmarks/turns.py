"""The measured conversation turns and a keep-alive REST client that times them."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

REST_WEBHOOK = "/webhooks/rest/webhook"
REQUEST_TIMEOUT_SECONDS = 30.0
LONG_MESSAGE_CHARACTERS = 10_000


def long_message(characters: int = LONG_MESSAGE_CHARACTERS) -> str:
    """English-looking text of exactly `characters` characters."""
    sentence = "my order has not arrived yet and I would like to know where it is now. "
    return (sentence * (characters // len(sentence) + 1))[:characters]


@dataclass(frozen=True)
class Scenario:
    """One kind of turn: the message a new customer sends and how the bot must handle it."""

    key: str
    title: str
    message: str
    #: The actions Rasa runs after the message, in order (checked once, during warm-up).
    expected_actions: tuple[str, ...]
    #: A fragment the bot's reply must contain (checked on every turn).
    expected_text: str

    def answered_by(self, texts: Sequence[str]) -> bool:
        """Whether the bot's reply is the one this scenario measures."""
        return any(self.expected_text in text for text in texts)


BOT_ONLY = Scenario(
    key="bot_only",
    title='Bot-only turn ("hi" -> utter_greet)',
    message="hi",
    expected_actions=("utter_greet", "action_listen"),
    expected_text="I'm the support assistant",
)
ORDER_LOOKUP = Scenario(
    key="order_lookup",
    title="Order lookup turn (ORD-100002: form validation + action_order_status + rating asked)",
    message="where is my order ORD-100002?",
    # A resolved order ends with the bot-only rating's question, asked by action_order_status
    # itself; the form is logged as run by its events, not called (actions/bot_csat.py).
    expected_actions=("order_form", "action_order_status", "bot_csat_form", "action_listen"),
    expected_text="ORD-100002 has shipped",
)
LONG_MESSAGE = Scenario(
    key="long_message",
    title=f"{LONG_MESSAGE_CHARACTERS:,}-character message (screened, action_nlu_fallback)",
    message=long_message(),
    expected_actions=("action_nlu_fallback", "action_listen"),
    expected_text="That's a long message",
)
HANDOFF = Scenario(
    key="handoff",
    title="Handoff turn (ORD-100005 delayed: lookup + action_handoff to the desk)",
    message="where is my order ORD-100005?",
    # action_handoff pauses the conversation for the human, so Rasa does not listen again.
    expected_actions=("order_form", "action_order_status", "action_handoff"),
    expected_text="ORD-100005 is delayed",
)
SCENARIOS: tuple[Scenario, ...] = (BOT_ONLY, ORDER_LOOKUP, LONG_MESSAGE, HANDOFF)


class UnexpectedBehaviour(RuntimeError):
    """The bot did not handle a scenario's message as the scenario expects."""


@dataclass(frozen=True)
class Turn:
    """One timed request: wall-clock milliseconds and the texts the bot answered."""

    milliseconds: float
    texts: list[str]


class RestClient:
    """One customer-side client of the REST channel, on a single keep-alive connection."""

    def __init__(self, base_url: str, auth_token: str) -> None:
        """`auth_token` is only used for reading trackers (Rasa's HTTP API)."""
        self._base_url = base_url
        self._auth_token = auth_token
        self._session = requests.Session()

    def send(self, sender: str, message: str) -> Turn:
        """Posts one message and times the whole request, from sending to the last byte."""
        body = json.dumps({"sender": sender, "message": message}).encode()
        headers = {"Content-Type": "application/json"}
        url = self._base_url + REST_WEBHOOK
        start = time.perf_counter()
        response = self._session.post(
            url, data=body, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS
        )
        elapsed = time.perf_counter() - start
        response.raise_for_status()
        return Turn(elapsed * 1000, _texts(response.json()))

    def actions_after_last_message(self, sender: str) -> list[str]:
        """The actions Rasa ran after the customer's latest message (from the tracker)."""
        response = self._session.get(
            f"{self._base_url}/conversations/{sender}/tracker",
            params={"token": self._auth_token},
            timeout=REQUEST_TIMEOUT_SECONDS,
        )
        response.raise_for_status()
        events: list[dict[str, Any]] = response.json()["events"]
        last_user = max(i for i, event in enumerate(events) if event["event"] == "user")
        return [event["name"] for event in events[last_user:] if event["event"] == "action"]

    def close(self) -> None:
        """Closes the connection."""
        self._session.close()


def _texts(messages: list[dict[str, Any]]) -> list[str]:
    return [str(message["text"]) for message in messages if "text" in message]


def new_sender(scenario: Scenario) -> str:
    """A sender id never used before: every measured turn starts a new conversation."""
    return f"bench-{scenario.key}-{uuid.uuid4().hex}"


def verify(client: RestClient, scenario: Scenario) -> None:
    """Sends the scenario's message once and checks the actions run and the reply."""
    sender = new_sender(scenario)
    turn = client.send(sender, scenario.message)
    actions = tuple(client.actions_after_last_message(sender))
    if actions != scenario.expected_actions or not scenario.answered_by(turn.texts):
        raise UnexpectedBehaviour(
            f"{scenario.key}: expected actions {scenario.expected_actions} and a reply "
            f"containing {scenario.expected_text!r}; got actions {actions} and replies "
            f"{[text[:120] for text in turn.texts]}"
        )


def warm_up(client: RestClient, scenarios: Sequence[Scenario], rounds: int) -> None:
    """Checks every scenario, then runs `rounds` more rounds of each; nothing is recorded."""
    for scenario in scenarios:
        verify(client, scenario)
    for _ in range(rounds):
        for scenario in scenarios:
            client.send(new_sender(scenario), scenario.message)


@dataclass
class Samples:
    """The measured turns of one scenario."""

    milliseconds: list[float] = field(default_factory=list)
    unexpected_replies: int = 0


def measure(
    client: RestClient, scenarios: Sequence[Scenario], rounds: int, seed: int = 0
) -> dict[str, Samples]:
    """`rounds` rounds of one turn per scenario, in a shuffled order every round.

    Interleaving spreads machine noise (and any after-effect of one kind of turn on the
    next) evenly over the scenarios, so their medians can be compared.
    """
    samples = {scenario.key: Samples() for scenario in scenarios}
    order = list(scenarios)
    shuffler = random.Random(seed)
    for number in range(1, rounds + 1):
        shuffler.shuffle(order)
        for scenario in order:
            turn = client.send(new_sender(scenario), scenario.message)
            samples[scenario.key].milliseconds.append(turn.milliseconds)
            if not scenario.answered_by(turn.texts):
                samples[scenario.key].unexpected_replies += 1
        if number % 50 == 0 or number == rounds:
            print(f"  measured {number}/{rounds} rounds", flush=True)
    return samples
