"""The planning views end to end (issue 12): scripted conversations through the real system,
then the journey map, the service blueprint, the FMEA and the report's repeats built and read
over the desk's HTTP API, and every count the scripts imply checked.

This module runs its own system (`desk_system.py`: real Rasa, action server and desk on
loopback, its own tracker store, desk and facts databases), so the views hold exactly the
conversations played here. Customers talk on Rasa's REST channel, agents work the desk's JSON
API with their consoles connected (`harness.scripted_traffic`). What the scripts imply is
written out here by hand from `content/journey_stages.yml` and docs/metrics.md ("Repeat rate"),
not computed by the code under test.

The conversations
-----------------
Order status (ORD-100002 shipped, ORD-100005 delayed and ORD-100006 lost hand off to order
support; see `actions.store.seed.DEMO_ORDERS`):

1. `order-lookup`: "where is my order ORD-100002?", found and reported; the bot's own rating 5.
2. `order-left-at-question`: "where is my order", then nothing more (it never gives a number).
3. `order-restated`: ORD-100005 delayed, handed off; after Olivia joins, the customer says
   "It's order ORD-100005" again (a restatement the context already carried); resolved,
   handed back, rated 4.
4. `order-asked`: ORD-100006 lost, handed off; Olivia asks "What's your order number?" and the
   customer answers it (counted once, as the request); resolved, handed back, rated 2.
5. `order-abandoned`: ORD-100005 delayed, handed off; the customer says "never mind" while
   waiting (the desk records the abandon and gives the conversation back to the bot).

Troubleshooting (E-1042: four steps a pass, three passes before Level 2):

6. `troubleshooting-fixed`: five "no" (pass 1, then step 1 of pass 2), then "yes that fixed
   it" in pass 2; the bot's own rating 4.
7. `troubleshooting-hand-back-refused`: twelve "no" (passes 1 to 3), handed to Level 2; Leo
   claims and replies; the Rasa server of this system is stopped while Leo resolves, so the
   hand-back fails (Rasa unreachable) and so does the agent-left notice; Rasa is started
   again, Leo retries the hand-back (`POST /api/handoffs/{id}/hand-back`: the owed notice
   first, then the welcome back) and the customer rates 3.

What they imply
---------------
Journey map, order_status (units 5). A stage is reached once per unit; drop-off = reached a
non-final stage and no later one:

    asked 5 (drop-off 1: conversation 2) · looked_up 4 · reported 1 (final) · escalated 3 ·
    queued 3 · left_queue 1 (the abandon: the bot takes the conversation back with
    action_handoff_cancelled; nothing follows, so a drop-off) · left_message 0 · claimed 2 ·
    resolved 2 · back_with_bot 2 (final; the welcome back after an agent) · rated 3
    (order-lookup's bot rating, 4 and 2)

Journey map, troubleshooting (units 2). The bot sets `troubleshooting_cycle` 1 before it knows
the tree, so the first cycle is the tree's stage:

    asked 2 · tree_chosen 2 · cycle_2 2 · cycle_3 1 · fixed 1 (final) · escalated 1 ·
    queued 1 · claimed 1 · resolved 1 (the agent-left notice Rasa missed, said when the
    hand-back is retried) · back_with_bot 1 · rated 2 (the bot's rating 4, the agent's 3)

Repeats (report, order_status / order_number): claimed handoffs whose context carried the
order number 2 (conversations 3 and 4), both repeated: restated 1 (3), asked 1 (4); the
Level 2 handoff carried the error code and nobody repeated it.

FMEA (the period's occurrences): customer repeating information 2 (handoffs 3 and 4),
abandoned while waiting 1 (handoff 5), hand-back refused 1 (handoff 7).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from actions.constants import FORM_CSAT
from harness.scripted_traffic import (
    NO_COMMENT,
    Claim,
    ConversationRun,
    DeskAgent,
    GiveUp,
    RateAgent,
    RateBot,
    Reply,
    Resolve,
    RestCustomer,
    Say,
    Script,
    SystemAddress,
    TrafficDriver,
)
from tests.e2e.desk_system import DeskStack, eventually, running_desk_stack
from tests.e2e.environment import MODEL_PATH

pytestmark = pytest.mark.e2e

#: The reporting zone (ANALYTICS_TIMEZONE's default, which the system here runs with).
ZONE: Final = ZoneInfo("Europe/London")
RASA: Final = "rasa"
RESTATED: Final = "It's order ORD-100005, please can you hurry"
ASKS_ORDER_NUMBER: Final = "Hi, Olivia here. What's your order number?"

#: The conversations that need nothing but the traffic driver, in the order they are played.
SCRIPTS: Final[tuple[Script, ...]] = (
    Script("order-lookup", (Say("where is my order ORD-100002?"), RateBot(5))),
    Script("order-left-at-question", (Say("where is my order"),)),
    Script(
        "order-restated",
        (
            Say("where is my order"),
            Say("ORD-100005"),
            Claim("olivia"),
            Say(RESTATED),
            Reply("olivia", "Thanks for waiting. The carrier says it arrives tomorrow."),
            Resolve("olivia"),
            RateAgent(4),
        ),
    ),
    Script(
        "order-asked",
        (
            Say("where is my order"),
            Say("ORD-100006"),
            Claim("olivia"),
            Reply("olivia", ASKS_ORDER_NUMBER),
            Say("ORD-100006"),
            Reply("olivia", "Thank you. I've opened a claim with the carrier."),
            Resolve("olivia"),
            RateAgent(2),
        ),
    ),
    Script("order-abandoned", (Say("where is my order ORD-100005?"), GiveUp())),
    Script(
        "troubleshooting-fixed",
        (
            Say("I keep getting error E-1042"),
            *(Say("no") for _ in range(5)),
            Say("yes that fixed it"),
            RateBot(4),
        ),
    ),
)
#: The Level 2 conversation up to the agent's reply; its resolve is played by hand.
LEVEL_2: Final = Script(
    "troubleshooting-hand-back-refused",
    (
        Say("I keep getting error E-1042"),
        *(Say("no") for _ in range(12)),
        Claim("leo"),
        Reply("leo", "Leo from Level 2 here: I can see a fault on your line and fixed it."),
    ),
)
LEVEL_2_RATING: Final = 3


@dataclass(frozen=True)
class Played:
    """What the conversations did: each run by script name, and the refused hand-back's
    answers (the resolve, then the retry)."""

    runs: dict[str, ConversationRun]
    refused: dict[str, Any]
    retried: dict[str, Any]

    def handoff(self, name: str) -> str:
        """The only handoff of a conversation."""
        (handoff_id,) = self.runs[name].handoff_ids
        return handoff_id


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskStack]:
    if not MODEL_PATH.exists():
        pytest.fail(f"{MODEL_PATH} is missing: run `make train` first")
    root = tmp_path_factory.mktemp("planning-views")
    # The desk's own timer stays out of the way: the test asks for each build.
    with running_desk_stack(root, ANALYTICS_INTERVAL_SECONDS="3600") as running:
        yield running


@pytest.fixture
async def sam(system: DeskStack) -> AsyncIterator[DeskAgent]:
    """The supervisor, who may build and read the analytics."""
    agent = await DeskAgent(system.desk_url, "sam").start(system.password)
    yield agent
    await agent.close()


def address(system: DeskStack) -> SystemAddress:
    return SystemAddress(
        rasa_url=system.rasa_url,
        rasa_token=system.env.rasa_auth_token,
        desk_url=system.desk_url,
        desk_password=system.password,
    )


async def play(system: DeskStack) -> Played:
    """Every conversation of the module doc, in order."""
    driver = TrafficDriver(address(system), run="e2e-planning")
    runs = await driver.play([*SCRIPTS, LEVEL_2])
    level_2 = runs[-1]
    refused, retried = await refused_hand_back(system, level_2)
    return Played({run.script.name: run for run in runs}, refused, retried)


async def refused_hand_back(
    system: DeskStack, run: ConversationRun
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Leo resolves while this system's Rasa server is stopped (the hand-back fails: Rasa is
    unreachable), then retries once Rasa is back; the customer rates the agent."""
    (handoff_id,) = run.handoff_ids
    leo = await DeskAgent(system.desk_url, "leo").start(system.password)
    try:
        system.stack.stop(RASA)
        try:
            refused = await leo.expect(
                "POST",
                f"/api/handoffs/{handoff_id}/resolve",
                200,
                json={"disposition": "resolved", "slots": {}},
            )
        finally:
            system.stack.start(system.env.rasa_server())
            system.stack.wait_healthy(RASA)
        retried = await leo.expect("POST", f"/api/handoffs/{handoff_id}/hand-back", 200)
    finally:
        await leo.close()
    async with aiohttp.ClientSession() as http:
        customer = RestCustomer(http, system.rasa_url, system.env.rasa_auth_token, run.sender_id)

        async def rating_asked() -> bool:
            loop = (await customer.tracker()).get("active_loop") or {}
            return bool(loop.get("name") == FORM_CSAT)

        await eventually(rating_asked, "the agent's rating asked after the retried hand-back")
        await customer.say(str(LEVEL_2_RATING))
        await customer.say(NO_COMMENT)
    return refused, retried


def period() -> dict[str, str]:
    # Yesterday to tomorrow: a run that crosses local midnight is still all in the period.
    today = datetime.now(ZONE).date()
    return {"start": str(today - timedelta(days=1)), "end": str(today + timedelta(days=1))}


async def read(sam: DeskAgent, path: str, **parameters: str) -> Any:
    return await sam.expect("GET", path, 200, params={**period(), **parameters})


#: The journey maps the scripts imply: stage → (reached, dropped off, where the units went next).
ORDER_MAP: Final[dict[str, tuple[int, int, dict[str, int]]]] = {
    "asked": (5, 1, {"looked_up": 4}),
    "looked_up": (4, 0, {"escalated": 3, "reported": 1}),
    "reported": (1, 0, {"rated": 1}),
    "escalated": (3, 0, {"queued": 3}),
    "queued": (3, 0, {"claimed": 2, "left_queue": 1}),
    "left_queue": (1, 1, {}),
    "left_message": (0, 0, {}),
    "claimed": (2, 0, {"resolved": 2}),
    "resolved": (2, 0, {"back_with_bot": 2}),
    "back_with_bot": (2, 0, {"rated": 2}),
    "rated": (3, 0, {}),
}
TROUBLESHOOTING_MAP: Final[dict[str, tuple[int, int, dict[str, int]]]] = {
    "asked": (2, 0, {"tree_chosen": 2}),
    "tree_chosen": (2, 0, {"cycle_2": 2}),
    "cycle_2": (2, 0, {"cycle_3": 1, "fixed": 1}),
    "cycle_3": (1, 0, {"escalated": 1}),
    "fixed": (1, 0, {"rated": 1}),
    "escalated": (1, 0, {"queued": 1}),
    "queued": (1, 0, {"claimed": 1}),
    "left_queue": (0, 0, {}),
    "left_message": (0, 0, {}),
    "claimed": (1, 0, {"resolved": 1}),
    "resolved": (1, 0, {"back_with_bot": 1}),
    "back_with_bot": (1, 0, {"rated": 1}),
    "rated": (2, 0, {}),
}
#: Units that reached each blueprint step's stage (steps of `content/service_blueprints.yml`).
ORDER_STEPS: Final = {
    "ask": 5,
    "lookup": 4,
    "order_db": 4,
    "report": 1,
    "escalate": 3,
    "intake": 3,
    "give_up": 1,
    "leave_message": 0,
    "queue_wait": 2,
    "claim": 2,
    "agent_work": 2,
    "hand_back": 2,
    "rate": 3,
}
#: FMEA modes (content/handoff_fmea.yml) and the steps they are pinned to.
REPEATING: Final = "customer_repeats_information"
ABANDONED: Final = "abandoned_while_waiting"
HAND_BACK_REFUSED: Final = "hand_back_refused"
LOW_CSAT_HYBRID: Final = "low_csat_after_hybrid"
DUPLICATE: Final = "duplicate_handoff_suppressed"


def check_map(found: dict[str, Any], units: int, expected: dict[str, Any]) -> None:
    assert found["units"] == units
    stages = {stage["stage"]: stage for stage in found["stages"]}
    assert list(stages) == list(expected)  # every stage of the catalog, in its order
    got = {stage: (s["reached"], s["dropped_off"], s["next_stages"]) for stage, s in stages.items()}
    assert got == expected
    for stage in stages.values():
        # A time to the next stage for each unit that went on, none for those that stopped.
        assert stage["to_next_s"]["count"] == sum(stage["next_stages"].values())


async def test_the_planning_views_count_exactly_what_the_conversations_did(
    system: DeskStack, sam: DeskAgent
) -> None:
    played = await play(system)
    assert played.refused["handed_back"] is False
    assert "could not be reached" in played.refused["hand_back_error"]
    assert (played.retried["handed_back"], played.retried["hand_back_error"]) == (True, None)
    assert [name for name, run in played.runs.items() if run.handoff_ids] == [
        "order-restated",
        "order-asked",
        "order-abandoned",
        "troubleshooting-hand-back-refused",
    ]
    # The bot asks its own rating after a bot-only journey (what the maps' `rated` count).
    assert played.runs["order-lookup"].bot_rating_asked is True
    assert played.runs["troubleshooting-fixed"].bot_rating_asked is True
    restated, asked = played.handoff("order-restated"), played.handoff("order-asked")
    abandoned = played.handoff("order-abandoned")
    refused = played.handoff("troubleshooting-hand-back-refused")

    built = await sam.expect("POST", "/api/analytics/build", 200)
    assert (built["conversations"], built["handoffs"], built["unparseable"]) == (7, 4, 0)

    # Journey maps: reached, drop-off and the next stages per stage.
    orders = await read(sam, "/api/analytics/journey-map", journey="order_status")
    check_map(orders, 5, ORDER_MAP)
    order_stages = {stage["stage"]: stage for stage in orders["stages"]}
    # The customer's turns while an agent had them: the restatement and the answer.
    assert order_stages["claimed"]["sentiment_turns"] == 2
    assert order_stages["queued"]["sentiment_turns"] == 1  # "never mind"
    troubleshooting = await read(sam, "/api/analytics/journey-map", journey="troubleshooting")
    check_map(troubleshooting, 2, TROUBLESHOOTING_MAP)

    # The report's repeats: the order number restated once and asked for once.
    repeats = (await read(sam, "/api/analytics/report"))["repeats"]
    fields = {
        (f["journey"], f["field"]): (
            f["handoffs"],
            f["repeated"],
            f["restated"],
            f["asked"],
            f["missing"],
        )
        for f in repeats["fields"]
    }
    assert fields[("order_status", "order_number")] == (2, 2, 1, 1, 0)
    assert fields[("troubleshooting", "error_code")] == (1, 0, 0, 0, 0)
    assert (repeats["handoffs"], repeats["with_repeat"]) == (3, 2)
    examples = {(e["handoff_id"], e["field"], e["kind"]) for e in repeats["examples"]}
    assert examples == {(restated, "order_number", "restated"), (asked, "order_number", "asked")}

    # The blueprint: each step's units, and the FMEA modes pinned where they happen.
    plan = await read(sam, "/api/analytics/blueprint", journey="order_status")
    steps = {step["step"]: step for step in plan["steps"]}
    assert {step: s["count"] for step, s in steps.items()} == ORDER_STEPS
    assert REPEATING in steps["agent_work"]["failure_modes"]
    assert ABANDONED in steps["give_up"]["failure_modes"]
    assert HAND_BACK_REFUSED in steps["hand_back"]["failure_modes"]
    async with sam.http.get(
        f"{system.desk_url}/api/analytics/blueprint",
        params={**period(), "journey": "troubleshooting", "format": "svg"},
    ) as drawn:
        assert drawn.status == 200
        assert drawn.content_type == "image/svg+xml"
        assert "<svg" in await drawn.text()

    # The FMEA: what happened, with the handoffs to open.
    fmea = await read(sam, "/api/analytics/fmea")
    assert fmea["handoffs"] == 4
    modes = {mode["mode"]: mode for mode in fmea["modes"]}
    occurrences = {
        mode: (modes[mode]["occurrences"], sorted(modes[mode]["examples"]))
        for mode in (REPEATING, ABANDONED, HAND_BACK_REFUSED, LOW_CSAT_HYBRID, DUPLICATE)
    }
    assert occurrences == {
        REPEATING: (2, sorted([restated, asked])),
        ABANDONED: (1, [abandoned]),
        HAND_BACK_REFUSED: (1, [refused]),
        LOW_CSAT_HYBRID: (1, [asked]),  # rated 2 after the bot and Olivia
        DUPLICATE: (0, []),
    }
    ranked = [mode["rpn"] for mode in fmea["modes"]]
    assert ranked == sorted(ranked, reverse=True)
