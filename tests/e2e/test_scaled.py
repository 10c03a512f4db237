"""The system on several processes (`make run-scaled`), end to end: the balancer keeps a web
chat on one Rasa process, a handoff crosses every process boundary, one conversation's
messages sent to both Rasa processes at once are handled one at a time, and the desks lose
nothing while they are down. See `scaled_system.py` for how the processes are wired.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from yarl import URL

from launcher.balancer import WEBCHAT_COOKIE
from tests.e2e.client import REPLY_TIMEOUT_SECONDS, new_sender
from tests.e2e.desk_system import Agent, SocketCustomer, eventually, tracker_of
from tests.e2e.scaled_system import ScaledSystem, pinned_chat_client, running_scaled_system

pytestmark = pytest.mark.e2e

#: Demo orders the bot answers on its own (no handoff), each reply naming its number.
ORDERS = ["ORD-100001", "ORD-100002", "ORD-100003", "ORD-100004", "ORD-100007", "ORD-100008"]
ORDER_NUMBER = re.compile(r"ORD-\d{6}")


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaledSystem]:
    with running_scaled_system(tmp_path_factory.mktemp("scaled")) as system:
        yield system


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _say_rest(http: aiohttp.ClientSession, url: str, sender: str, text: str) -> list[str]:
    async with http.post(
        f"{url}/webhooks/rest/webhook",
        json={"sender": sender, "message": text},
        timeout=aiohttp.ClientTimeout(total=4 * REPLY_TIMEOUT_SECONDS),
    ) as response:
        assert response.status == 200, await response.text()
        return [str(reply.get("text", "")) for reply in await response.json()]


async def _handshake(http: aiohttp.ClientSession, url: str) -> str:
    """Opens an engine.io long-polling session; returns its id."""
    async with http.get(f"{url}/socket.io/", params={"EIO": "4", "transport": "polling"}) as got:
        assert got.status == 200, await got.text()
        body = await got.text()
    match = re.search(r'"sid":"([^"]+)"', body)
    assert match, body
    return match.group(1)


async def _post_to_session(http: aiohttp.ClientSession, url: str, sid: str) -> int:
    """Sends socket.io's CONNECT packet in session `sid` straight to one Rasa process: 200
    where the session lives, 400 ("Invalid session") anywhere else."""
    params = {"EIO": "4", "transport": "polling", "sid": sid}
    async with http.post(f"{url}/socket.io/", params=params, data="40") as answer:
        return answer.status


async def test_the_balancer_keeps_a_web_chat_session_on_the_process_its_cookie_names(
    scaled: ScaledSystem,
) -> None:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as browser, aiohttp.ClientSession() as probe:
        sid = await _handshake(browser, scaled.balanced_rasa_url)
        process = {cookie.key: cookie.value for cookie in jar}[WEBCHAT_COOKIE]
        other = {"rasa1": "rasa2", "rasa2": "rasa1"}[process]
        assert await _post_to_session(probe, scaled.rasa_url(int(process[-1])), sid) == 200
        assert await _post_to_session(probe, scaled.rasa_url(int(other[-1])), sid) == 400

    for pinned in ("rasa1", "rasa2"):  # a browser's cookie is honoured, whatever its address
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as browser:
            browser.cookie_jar.update_cookies(
                {WEBCHAT_COOKIE: pinned}, response_url=URL(scaled.site_url)
            )
            sid = await _handshake(browser, scaled.site_url)
            async with aiohttp.ClientSession() as probe:
                found = {
                    number: await _post_to_session(probe, scaled.rasa_url(number), sid)
                    for number in (1, 2)
                }
            assert found[int(pinned[-1])] == 200, f"{pinned}: {found}"


async def test_a_handoff_crosses_processes_customer_on_rasa_1_agent_on_desk_2(
    scaled: ScaledSystem,
) -> None:
    """Customer's web chat on Rasa #1 (through the balancer); handoff delivered to desk #1;
    the agent works on desk #2, whose calls reach Rasa #2; everything still meets."""
    customer = SocketCustomer(scaled.desk(2), "scaled-handoff")
    customer.page = await pinned_chat_client(scaled, "rasa1")
    agent = Agent(scaled.desk(2))
    try:
        await agent.login("olivia")
        await agent.live()  # online on desk #2 before the handoff reaches desk #1
        await customer.connect()
        assert "order support team" in " ".join(
            await customer.turn("where is my order ORD-100005?")
        )
        handoff_id = await agent.waiting_handoff_of(customer.sender)  # desk #1 took it
        waiting = await customer.status("waiting")  # desk #1 → Rasa #2 → Rasa #1's socket
        assert waiting["position"] == 1

        status, claimed = await agent.call("POST", f"/api/handoffs/{handoff_id}/claim")
        assert (status, claimed["status"]) == (200, "claimed")
        assert "Olivia" in (await customer.status("agent_joined"))["agent_name"]

        reply = "Hi, I'm Olivia. I'm chasing the carrier for you now."
        status, sent = await agent.call(
            "POST", f"/api/handoffs/{handoff_id}/messages", json={"text": reply}
        )
        assert status == 201, sent
        heard = await customer.bot_message()  # Rasa #2's emit, delivered by Rasa #1
        assert reply in str(heard["text"])
        assert heard["metadata"]["handoff_agent"]["name"] == "Olivia (Orders)"

        # What the customer says reaches the agent on desk #2 (Rasa's broker → RabbitMQ →
        # whichever desk consumes it → the desks' shared bus).
        assert await customer.turn("thanks, will it come today?") == []
        said = "thanks, will it come today?"
        relayed = await agent.next_live("customer_message", handoff_id=handoff_id, text=said)
        assert relayed["sender_id"] == customer.sender

        status, resolved = await agent.call(
            "POST", f"/api/handoffs/{handoff_id}/resolve", json={"disposition": "resolved"}
        )
        assert status == 200, resolved
        assert (resolved["handed_back"], resolved["hand_back_error"]) == (True, None)
        welcome = await customer.bot_message()
        assert "welcome back" in str(welcome["text"]).lower()
    finally:
        await customer.close()
        await agent.close()


async def test_one_conversations_messages_sent_to_both_processes_at_once_are_handled_in_turn(
    scaled: ScaledSystem, http: aiohttp.ClientSession
) -> None:
    """Six messages of one conversation, sent at once, alternately to Rasa #1 and #2: each
    is handled whole (user, its actions, its replies) before the next starts, and each
    answer is about its own message (the Redis lock store)."""
    sender = new_sender("scaled-lock")
    urls = [scaled.rasa_url(1 + i % 2) for i in range(len(ORDERS))]
    answers = await asyncio.gather(
        *(
            _say_rest(http, url, sender, f"where is my order {order}?")
            for url, order in zip(urls, ORDERS, strict=True)
        )
    )
    for order, answer in zip(ORDERS, answers, strict=True):
        assert set(ORDER_NUMBER.findall(" ".join(answer))) == {order}, answer

    tracker = await tracker_of(http, scaled.desk(1), sender)
    turns = _turns(tracker["events"])
    assert sorted(turn["order"] for turn in turns) == sorted(ORDERS)
    for turn in turns:
        assert turn["ends_listening"], f"the turn about {turn['order']} was interleaved"
        assert turn["mentioned"] == {turn["order"]}, turn


def _turns(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each user message with what followed it until the next one: the order it asked about,
    the orders the bot's replies named, and whether the bot was listening again before the
    next message (it is, when turns do not overlap)."""
    starts = [i for i, event in enumerate(events) if event["event"] == "user"]
    turns = []
    for start, end in zip(starts, [*starts[1:], len(events)], strict=True):
        said = events[start:end]
        (order,) = ORDER_NUMBER.findall(said[0]["text"])
        actions = [e.get("name") for e in said if e["event"] == "action"]
        bot_text = " ".join(str(e.get("text") or "") for e in said if e["event"] == "bot")
        turns.append(
            {
                "order": order,
                "mentioned": set(ORDER_NUMBER.findall(bot_text)),
                "ends_listening": bool(actions) and actions[-1] == "action_listen",
            }
        )
    return turns


async def test_what_a_customer_says_while_every_desk_is_down_is_acted_on_after_restart(
    scaled: ScaledSystem, http: aiohttp.ClientSession
) -> None:
    """A waiting customer says "never mind" while both desks are stopped: Rasa's broker keeps
    it in the desks' durable queue, and once a desk is back it cancels the wait, gives the
    conversation back to the bot, and the agent's transcript has the message."""
    sender = new_sender("scaled-restart")
    rasa = scaled.balanced_rasa_url
    assert "passing you to" in " ".join(await _say_rest(http, rasa, sender, "agent")).lower()
    supervisor = Agent(scaled.desk(2))
    try:
        await supervisor.login("sam")
        handoff_id = await supervisor.waiting_handoff_of(sender)
        await supervisor.close()

        for desk in ("desk1", "desk2"):
            scaled.stop(desk)
        assert await _say_rest(http, rasa, sender, "never mind") == []  # paused: no desk
        for desk in ("desk1", "desk2"):
            scaled.restart(desk)

        supervisor = Agent(scaled.desk(2))
        await supervisor.login("sam")

        async def abandoned() -> dict[str, Any] | None:
            handoff = await supervisor.handoff(handoff_id)
            return handoff if handoff["status"] == "abandoned" else None

        await eventually(abandoned, "the wait cancelled after the desks came back")

        async def back_with_the_bot() -> dict[str, Any] | None:
            tracker = await tracker_of(http, scaled.desk(2), sender)
            return None if tracker["paused"] else tracker

        await eventually(back_with_the_bot, "the conversation given back to the bot")
        status, conversation = await supervisor.call(
            "GET", f"/api/handoffs/{handoff_id}/conversation"
        )
        assert status == 200, conversation
        said = [turn["text"] for turn in conversation["turns"] if turn["role"] == "customer"]
        assert said[-1] == "never mind"
    finally:
        await supervisor.close()
