"""RasaClient and RasaHandBack against a real HTTP stand-in for Rasa (no mocked HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from contract.customer_status import CustomerStatus
from desk.rasa_client import RasaClient, RasaHandBack, RasaUnavailable
from desk.services.agents import Actor
from desk.services.handoffs import Resolution
from desk.store.models import AgentRole
from tests.desk.rasa_stand_in import RASA_TOKEN, RasaStandIn, closed_port_url

OLIVIA = Actor(
    agent_id=7,
    username="olivia",
    display_name="Olivia (Orders)",
    role=AgentRole.AGENT.value,
    queues=frozenset({"order_support"}),
)


@pytest.fixture
async def client(rasa: RasaStandIn) -> AsyncIterator[RasaClient]:
    rasa_client = RasaClient(rasa.url, RASA_TOKEN, timeout_seconds=0.5)
    yield rasa_client
    await rasa_client.close()


async def test_reads_the_tracker_with_the_token(client: RasaClient, rasa: RasaStandIn) -> None:
    rasa.conversation("c-1").slots["order_number"] = "ORD-100005"

    tracker = await client.tracker("c-1")

    assert tracker["slots"] == {"order_number": "ORD-100005"}
    (call,) = rasa.calls
    assert (call.kind, call.sender_id, call.query) == ("tracker", "c-1", {"token": RASA_TOKEN})


async def test_an_agent_message_is_a_bot_event_sent_to_the_latest_channel(
    client: RasaClient, rasa: RasaStandIn
) -> None:
    await client.send_agent_message("c-1", "Hi, I'm looking at your order now.", OLIVIA)

    (call,) = rasa.of_kind("events")
    assert call.query == {
        "output_channel": "latest",
        "execute_side_effects": "true",
        "token": RASA_TOKEN,
    }
    assert call.body == [
        {
            "event": "bot",
            "text": "Hi, I'm looking at your order now.",
            "metadata": {"handoff_agent": {"id": 7, "name": "Olivia (Orders)"}},
        }
    ]


async def test_hand_back_sets_slots_resumes_then_welcomes_back(
    client: RasaClient, rasa: RasaStandIn
) -> None:
    resolution = Resolution(
        handoff_id="h",
        sender_id="c-2",
        disposition="resolved",
        slots={"refund_offered": True},
        agent_id=7,
        agent_name="Olivia",
    )

    assert await RasaHandBack(client)(resolution) is True

    events, execute = rasa.calls
    assert (events.kind, events.body) == (
        "events",
        [{"event": "slot", "name": "refund_offered", "value": True}, {"event": "resume"}],
    )
    assert (execute.kind, execute.body) == ("execute", {"name": "action_welcome_back"})
    assert execute.query == {"output_channel": "latest", "token": RASA_TOKEN}
    assert rasa.conversation("c-2").paused is False


async def test_notify_posts_a_handoff_status_with_the_bearer_token(
    client: RasaClient, rasa: RasaStandIn
) -> None:
    assert await client.notify("c-3", CustomerStatus.AGENT_JOINED, agent_name="Olivia") is True

    (call,) = rasa.calls
    assert call.authorization == f"Bearer {RASA_TOKEN}"
    assert call.body == {
        "sender_id": "c-3",
        "type": "handoff_status",
        "status": "agent_joined",
        "agent_name": "Olivia",
    }


async def test_notify_without_a_web_chat_is_not_an_error(
    client: RasaClient, rasa: RasaStandIn
) -> None:
    rasa.fail["notify"] = 404

    assert await client.notify("c-3", CustomerStatus.WAITING, position=1) is False


@pytest.mark.parametrize("kind", ["notify", "events", "execute", "tracker"])
async def test_an_error_status_becomes_rasa_unavailable(
    client: RasaClient, rasa: RasaStandIn, kind: str
) -> None:
    rasa.fail[kind] = 500
    calls = {
        "notify": lambda: client.notify("c", CustomerStatus.WAITING),
        "events": lambda: client.append_events("c", [{"event": "resume"}]),
        "execute": lambda: client.execute("c", "action_welcome_back"),
        "tracker": lambda: client.tracker("c"),
    }

    with pytest.raises(RasaUnavailable, match="Rasa answered 500") as raised:
        await calls[kind]()

    assert raised.value.status == 500
    assert "on purpose" in raised.value.message


async def test_a_wrong_token_is_reported_clearly(rasa: RasaStandIn) -> None:
    wrong = RasaClient(rasa.url, "wrong-token")
    try:
        with pytest.raises(RasaUnavailable, match=r"answered 401 when executing action_x"):
            await wrong.execute("c", "action_x")
    finally:
        await wrong.close()


async def test_an_unreachable_rasa_is_rasa_unavailable() -> None:
    down = RasaClient(closed_port_url(), RASA_TOKEN, timeout_seconds=0.5)
    try:
        with pytest.raises(RasaUnavailable, match="could not be reached"):
            await down.tracker("c")
    finally:
        await down.close()


async def test_a_slow_rasa_times_out(client: RasaClient, rasa: RasaStandIn) -> None:
    rasa.stall.add("execute")

    with pytest.raises(RasaUnavailable, match=r"did not answer within 0.5s"):
        await client.execute("c", "action_welcome_back")
