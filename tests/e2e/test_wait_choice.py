"""The wait choice end to end: nobody claims in time, or nobody of the team is online, and the
customer on the web chat chooses to keep waiting, to leave a message, or to cancel.

This module runs its own system (`desk_system.py`) with a claim time-out of a few seconds
(CLAIM_TIMEOUT_SECONDS), so the time-out happens within the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.e2e.desk_system import Agent, DeskStack, SocketCustomer, running_desk_stack
from tests.e2e.environment import MODEL_PATH

pytestmark = pytest.mark.e2e

CLAIM_TIMEOUT_SECONDS = 2.0
CHOICES = ["/keep_waiting", "/leave_message"]


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskStack]:
    if not MODEL_PATH.exists():
        pytest.fail(f"{MODEL_PATH} is missing: run `make train` first")
    root = tmp_path_factory.mktemp("wait-choice")
    with running_desk_stack(root, CLAIM_TIMEOUT_SECONDS=str(CLAIM_TIMEOUT_SECONDS)) as running:
        yield running


@pytest.fixture
async def customer(system: DeskStack) -> AsyncIterator[SocketCustomer]:
    connected = await SocketCustomer(system, "wait-choice").connect()
    yield connected
    await connected.close()


@pytest.fixture
async def olivia(system: DeskStack) -> AsyncIterator[Agent]:
    agent = await Agent(system).login("olivia")
    await agent.live()  # online, but she will not claim
    yield agent
    await agent.close()


async def offered(customer: SocketCustomer, reason: str) -> str:
    """The assistant's wait-choice message (its quick replies) and the page's banner."""
    message = await customer.bot_message()
    assert [reply["payload"] for reply in message["quick_replies"]] == CHOICES
    banner = await customer.status("timeout_choice")
    assert banner["reason"] == reason
    return str(message["text"])


async def test_nobody_claims_in_time_the_customer_keeps_waiting_then_leaves_a_message(
    system: DeskStack, customer: SocketCustomer, olivia: Agent
) -> None:
    assert "order support team" in " ".join(await customer.turn("where is my order ORD-100005?"))
    await customer.status("waiting")
    place = await customer.notice("in the queue for")  # as a plain bot message too
    assert place.startswith("You're number 1 in the queue for Order Support. Estimated wait:")
    handoff_id = await olivia.waiting_handoff_of(customer.sender)

    # No claim within CLAIM_TIMEOUT_SECONDS: the choice.
    assert "still busy" in await offered(customer, "claim_timeout")
    await customer.page.say("/keep_waiting")  # the "Keep waiting" quick reply
    again = await customer.status("waiting")
    assert (again["queue"], again["position"]) == ("order_support", 1)
    # Asked, so told again in words: the same place, said as such.
    assert await customer.notice("in the queue for") == again["notice_text"]
    assert again["notice_text"].startswith("You're still number 1 in the queue")

    # Still nobody: offered again, and this time the customer leaves a message.
    await offered(customer, "claim_timeout")
    await customer.page.say("/leave_message")
    prompt = await customer.bot_message()
    assert "leave your message" in prompt["text"].lower()
    await customer.status("back_with_bot")
    thanks = " ".join(await customer.turn("Please call me after 5pm on 020 7946 0000"))
    assert "they'll call you back" in thanks

    handoff = await olivia.handoff(handoff_id)
    assert handoff["status"] == "expired"
    assert handoff["expired_at"] is not None
    assert handoff["callback_message"] == "Please call me after 5pm on 020 7946 0000"
    kinds = [event["kind"] for event in (await olivia.screen_pop(handoff_id))["events"]]
    assert kinds.count("choice_offered") == 2
    assert "kept_waiting" in kinds
    assert (await customer.tracker())["paused"] is False


async def test_with_nobody_of_the_team_online_the_choice_comes_at_once_and_cancel_works(
    system: DeskStack, customer: SocketCustomer
) -> None:
    # Nobody serving mortgage_advisors (nor a supervisor) is logged in.
    said = " ".join(await customer.turn("should I go fixed or variable for my mortgage?"))
    assert "mortgage advisors" in said
    await customer.status("waiting")

    assert "Nobody from Mortgage Advisors is online" in await offered(customer, "no_agent_online")
    await customer.page.say("never mind")
    confirmation = await customer.bot_message()
    assert "cancelled your request for a person" in confirmation["text"]
    await customer.status("back_with_bot")

    (handoff,) = system.handoffs_of(customer.sender)
    assert (handoff.status, handoff.abandoned_at is not None) == ("abandoned", True)
    assert await customer.turn("hi")  # the bot answers again
