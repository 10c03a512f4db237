"""One web chat connection flooding the Rasa server is limited; other customers are still served.

A stock socket.io-client (npm, in node: `tests/support/node_page.py`) on the websocket
transport sends FLOOD messages as fast as it can on one connection. The web chat's limit per
connection (`assistant.channels.rate_limit`, the defaults: 5 events a second in bursts of 20,
closed after 200 dropped) must tell it to slow down, let only about a burst of its messages
reach the conversation, and keep the server free: a second customer on another connection gets
the bot's answer promptly meanwhile. Without the limit every one of the flood's messages is a
prediction queued before the second customer's, and its answer takes tens of seconds.
"""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest

from assistant.channels.rate_limit import DEFAULT_BURST, DEFAULT_EVENTS_PER_SECOND
from contract.slow_down import SLOW_DOWN_EVENT, SlowDownNotice
from tests.e2e.client import new_sender
from tests.e2e.desk_system import DeskStack, SocketCustomer, eventually, tracker_of
from tests.support.node_page import NodePage

pytestmark = pytest.mark.e2e

FLOOD = 600
#: The second customer's whole turn (message in, every reply out) on a busy CI machine. Without
#: the limit the flood's predictions come first: about FLOOD x 60 ms or more.
PROMPT_SECONDS = 15.0
#: The flooder's handled turns are all in once their count has not moved for this long.
STILL_SECONDS = 3.0


def user_turns(tracker: dict[str, Any]) -> int:
    return sum(1 for event in tracker["events"] if event["event"] == "user")


async def test_a_flooding_connection_is_slowed_and_others_are_served(
    desk_stack: DeskStack,
) -> None:
    why_not = NodePage.available()
    if why_not is not None:
        pytest.fail(why_not)
    flooder = await NodePage().open(
        desk_stack.rasa_url, new_sender("flood"), transports=["websocket"]
    )
    calm = SocketCustomer(desk_stack, "calm")
    try:
        flooder_id = await flooder.next("session_confirm")  # a new chat: it had no token
        await calm.connect()

        started = time.monotonic()
        for number in range(FLOOD):
            await flooder.say(f"where is my order ORD-{100000 + number}?")
        replies = await calm.turn("where is my order ORD-100002?")
        served_after = time.monotonic() - started

        assert replies, "the second customer got no answer"
        assert served_after < PROMPT_SECONDS, f"the second customer waited {served_after:.1f} s"
        # What reached the conversation: the burst, and what the rate refilled meanwhile; once
        # the count has stood still for STILL_SECONDS with the bot listening, it is final.
        async with aiohttp.ClientSession() as http:
            seen: list[tuple[int, float]] = []

            async def final_count() -> int | None:
                tracker = await tracker_of(http, desk_stack, flooder_id)
                events = tracker["events"]
                # The bot listens again, or a person has the conversation (the flood's
                # unknown orders may end in a handoff): either way its turn is over.
                listening = bool(events) and events[-1].get("name") == "action_listen"
                idle = listening or tracker["paused"]
                count = user_turns(tracker)
                if not seen or seen[-1][0] != count or not idle:
                    seen.append((count, time.monotonic()))
                    return None
                return count if time.monotonic() - seen[-1][1] >= STILL_SECONDS else None

            handled = await eventually(final_count, "the flood's last handled turn", timeout=90)
        flood_seconds = seen[-1][1] - started
        print(
            f"\nflood of {FLOOD}: {handled} handled, {len(flooder.events(SLOW_DOWN_EVENT))}"
            f" slow_down; the other customer answered after {served_after:.1f} s"
        )
        allowed = DEFAULT_BURST + DEFAULT_EVENTS_PER_SECOND * flood_seconds
        assert handled <= min(allowed, FLOOD / 4), (handled, flood_seconds)

        notice = SlowDownNotice.parse_obj(await flooder.next(SLOW_DOWN_EVENT))
        assert notice.event == "user_uttered"
        assert (notice.events_per_second, notice.burst) == (
            DEFAULT_EVENTS_PER_SECOND,
            DEFAULT_BURST,
        )
        assert notice.retry_after_seconds > 0
        assert len(flooder.events(SLOW_DOWN_EVENT)) <= flood_seconds + 1  # at most once a second
    finally:
        await flooder.close()
        await calm.page.close()
        await calm.http.close()
