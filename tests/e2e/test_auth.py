"""Only the customer channels are public: the action server and Rasa's HTTP API need tokens."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.e2e.client import BotClient, new_sender
from tests.e2e.environment import E2EEnvironment

pytestmark = pytest.mark.e2e

ACTION_CALL = {
    "next_action": "action_order_status",
    "sender_id": "e2e-auth",
    "tracker": {"sender_id": "e2e-auth", "slots": {}, "latest_message": {}, "events": []},
    "domain": {},
    "version": "3.6.21",
}


def test_action_server_webhook_needs_the_token(e2e_env: E2EEnvironment, bot: BotClient) -> None:
    webhook = f"{e2e_env.action_server_url}/webhook"

    token = e2e_env.action_server_token

    def call(**how: Any) -> requests.Response:
        return requests.post(webhook, json=ACTION_CALL, timeout=10, **how)

    assert call().status_code == 401
    assert call(headers={"Authorization": "Bearer wrong"}).status_code == 401
    # The query parameter is refused even with the right token: URLs end up in logs.
    assert call(params={"token": token}).status_code == 401
    right = call(headers={"Authorization": f"Bearer {token}"})
    assert right.status_code == 200, right.text


def test_action_server_health_is_open(e2e_env: E2EEnvironment, bot: BotClient) -> None:
    assert requests.get(f"{e2e_env.action_server_url}/health", timeout=10).status_code == 200


def test_rasa_http_api_needs_the_token(e2e_env: E2EEnvironment, bot: BotClient) -> None:
    sender = new_sender("auth")
    assert bot.say(sender, "hello")
    tracker_url = f"{e2e_env.rasa_url}/conversations/{sender}/tracker"

    assert requests.get(tracker_url, timeout=10).status_code == 401
    assert requests.get(tracker_url, params={"token": "wrong"}, timeout=10).status_code == 401
    answer = requests.get(tracker_url, params={"token": e2e_env.rasa_auth_token}, timeout=10)
    assert answer.status_code == 200
    assert answer.json()["sender_id"] == sender
