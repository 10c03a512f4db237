"""The action server dies during a burst of handoff turns (issue 7, section 2).

Twenty customers ask for a person at once over Rasa's REST channel; the action server is killed
with SIGKILL while their turns are in flight, then started again. Afterwards:
- every customer got a reply (an apology when their turn's action call failed: never silence);
- every customer told they were passed on has exactly one handoff in the desk;
- every conversation with a handoff in the desk is paused and its customer was told (the desk
  confirms each new handoff to the Rasa server, which pauses a conversation that missed it);
- when every customer asks again, nobody gets a second handoff.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from launcher.stack import Stack
from tests.e2e.client import REPLY_TIMEOUT_SECONDS, new_sender
from tests.e2e.desk_system import DeskStack, eventually, tracker_of

pytestmark = pytest.mark.e2e

ACTIONS = "actions"
CUSTOMERS = 20
ASK = "I want to talk to a person"
#: Words of every message that tells a customer a person takes over.
PASSED_ON = ("passing you to", "in the queue for")
#: Long enough for a row leased by the killed action server to come due again and be relayed.
SETTLE_SECONDS = 60.0


def told_of_a_person(texts: list[str]) -> bool:
    return any(words in text.lower() for text in texts for words in PASSED_ON)


def bot_texts(tracker: dict[str, Any]) -> list[str]:
    return [str(e.get("text") or "") for e in tracker["events"] if e["event"] == "bot"]


async def say(http: aiohttp.ClientSession, system: DeskStack, sender: str, text: str) -> list[str]:
    async with http.post(
        f"{system.rasa_url}/webhooks/rest/webhook",
        json={"sender": sender, "message": text},
        timeout=aiohttp.ClientTimeout(total=REPLY_TIMEOUT_SECONDS),
    ) as response:
        assert response.status == 200, await response.text()
        return [str(message.get("text") or "") for message in await response.json()]


@pytest.fixture
def restarted_actions(desk_stack: DeskStack) -> Iterator[Stack]:
    """The stack; its action server is running again afterwards, whatever happened."""
    yield desk_stack.stack
    if ACTIONS not in desk_stack.stack.running or (
        desk_stack.stack.running[ACTIONS].process.poll() is not None
    ):
        desk_stack.stack.stop(ACTIONS)
        desk_stack.stack.start(desk_stack.env.action_server())
        desk_stack.stack.wait_healthy(ACTIONS)


async def test_a_killed_action_server_leaves_no_silence_and_no_duplicate(
    desk_stack: DeskStack, restarted_actions: Stack
) -> None:
    stack = restarted_actions
    senders = [new_sender(f"burst-{number}") for number in range(CUSTOMERS)]
    async with aiohttp.ClientSession() as http:
        burst = [asyncio.create_task(say(http, desk_stack, s, ASK)) for s in senders]

        async def first_handoff_arrived() -> bool:
            return any(desk_stack.handoffs_of(sender) for sender in senders)

        await eventually(first_handoff_arrived, "the first handoff of the burst")
        os.killpg(stack.running[ACTIONS].process.pid, signal.SIGKILL)
        stack.stop(ACTIONS)
        replies = dict(zip(senders, await asyncio.gather(*burst), strict=True))
        stack.start(desk_stack.env.action_server())
        stack.wait_healthy(ACTIONS)

        # No silence: everyone got a reply; some were apologised to.
        assert all(replies[sender] for sender in senders), replies
        apologised = [s for s in senders if not told_of_a_person(replies[s])]
        assert apologised, "the kill came too late to fail any turn; the test proved nothing"

        async def settled() -> bool:
            for sender in senders:
                handoffs = desk_stack.handoffs_of(sender)
                tracker = await tracker_of(http, desk_stack, sender)
                if len(handoffs) > 1:
                    raise AssertionError(f"{sender} has {len(handoffs)} handoffs")
                if handoffs and not (tracker["paused"] and told_of_a_person(bot_texts(tracker))):
                    return False
            return True

        await eventually(settled, "every handoff known to its conversation", timeout=SETTLE_SECONDS)
        for sender in senders:
            if told_of_a_person(replies[sender]):
                assert len(desk_stack.handoffs_of(sender)) == 1, sender

        # Everyone asks again: the paused stay silent, the others are passed on once.
        again = await asyncio.gather(*(say(http, desk_stack, s, ASK) for s in senders))
        for sender, texts in zip(senders, again, strict=True):
            [handoff] = desk_stack.handoffs_of(sender)
            assert handoff.status == "queued"
            tracker = await tracker_of(http, desk_stack, sender)
            assert tracker["paused"] is True
            assert texts == [] or told_of_a_person(texts), texts
