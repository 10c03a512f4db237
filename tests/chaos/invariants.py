"""The four invariants every fault must leave intact, written once, checked after every fault.

They compare what each customer saw (`load.Customer.turns`) with the tracker store (Rasa's
tracker API) and the desk's database:

1. every customer message is in the tracker exactly once (one the customer got an answer to
   at least once, one whose turn failed (an error, or the apology asking to try again) at
   most once);
2. every handoff the customer was told about exists exactly once in the desk;
3. no bot reply was sent while a person owned the chat (from the handoff on, only the agent's
   and the desk's marked messages, until the desk hands the chat back);
4. every customer was told the truth: told of a person exactly when a handoff exists, told
   of the agent who took the chat (once: a notice the desk re-sends is in the tracker once),
   and never silence (an answered turn with no reply is allowed only while the chat is
   paused; a failed turn is an error the page shows).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

import aiohttp

from contract.desk_notices import DESK_NOTICE_ID_KEY, DESK_NOTICE_KEY, DeskNotice
from contract.webchat import AGENT_METADATA_KEY
from tests.chaos.load import Customer
from tests.chaos.report import Findings
from tests.e2e.desk_system import DeskStack, eventually, tracker_of

#: Words of every message that tells a customer a person takes over (or already has them):
#: the bot's own (`actions.handoff_action`) and the one the Rasa server adds when the desk
#: reports a handoff its tracker missed (`desk.bot_sync.HANDOFF_OPENED_TEXT`).
PASSED_ON: Final = (
    "passing you to",
    "already in the queue for a person",
    "you're in the queue for",
)
#: Words of the bot's message when the desk did not take a handoff at once
#: (`actions.handoff_action`).
DESK_UNREACHABLE: Final = "isn't reachable this very moment"
#: How long the system may take to settle after a fault (a leased outbox row comes due again,
#: the desk confirms a handoff Rasa missed).
SETTLE_SECONDS: Final = 90.0


def told_of_a_person(texts: Sequence[str]) -> bool:
    return any(words in text.lower() for text in texts for words in PASSED_ON)


def _outbox(replies: Sequence[str]) -> bool:
    return any(DESK_UNREACHABLE in text for text in replies)


def _marked(event: Mapping[str, Any]) -> bool:
    """A bot event the desk sent (an agent's turn or one of its notices), not the bot's own."""
    metadata = event.get("metadata") or {}
    return AGENT_METADATA_KEY in metadata or DESK_NOTICE_KEY in metadata


def _announces_the_handoff(event: Mapping[str, Any]) -> bool:
    """The desk's messages, and the one that tells the customer of the handoff (the Rasa server
    pauses a conversation that missed its handoff, then says so: `confirm_open_handoff`)."""
    return _marked(event) or told_of_a_person([str(event.get("text") or "")])


def _notice(event: Mapping[str, Any]) -> str | None:
    return (event.get("metadata") or {}).get(DESK_NOTICE_KEY)


def check_messages(customer: Customer, tracker: Mapping[str, Any]) -> Findings:
    """Invariant 1: each text the customer sent is in the tracker as often as it was answered,
    and never more often than it was sent."""
    found = Findings(customers=1, messages=len(customer.turns))
    found.failed_turns = sum(1 for t in customer.turns if t.error)
    found.turns_struck = sum(1 for t in customer.turns if t.failed or _outbox(t.replies or []))
    logged = Counter(str(e.get("text")) for e in tracker["events"] if e["event"] == "user")
    sent = Counter(t.text for t in customer.turns)
    answered = Counter(t.text for t in customer.turns if not t.failed)
    for text in sent:
        if logged[text] < answered[text]:
            found.messages_lost += answered[text] - logged[text]
            found.violations.append(
                f"{customer.sender}: {text!r} answered {answered[text]}x, "
                f"in the tracker {logged[text]}x"
            )
        if logged[text] > sent[text]:
            found.messages_duplicated += logged[text] - sent[text]
            found.violations.append(
                f"{customer.sender}: {text!r} sent {sent[text]}x, in the tracker {logged[text]}x"
            )
    return found


def _with_pause_state(
    tracker: Mapping[str, Any],
) -> Iterator[tuple[Mapping[str, Any], bool]]:
    """Each event with whether the conversation was paused (a person's) when it happened."""
    paused = False
    for event in tracker["events"]:
        if event["event"] in ("pause", "resume"):
            paused = event["event"] == "pause"
        yield event, paused


def check_ownership(customer: Customer, tracker: Mapping[str, Any]) -> Findings:
    """Invariant 3: between the pause (the handoff) and the resume (the hand-back) every bot
    event is the desk's."""
    found = Findings()
    for event, paused in _with_pause_state(tracker):
        if event["event"] == "bot" and paused and not _announces_the_handoff(event):
            found.violations.append(
                f"{customer.sender}: the bot said {str(event.get('text'))[:60]!r} "
                "while a person had the chat"
            )
    return found


def check_no_silence(customer: Customer, tracker: Mapping[str, Any]) -> Findings:
    """Invariant 4, part: an answered turn without a reply only while the chat was paused.

    Each silent turn of a text needs an occurrence of that text in the tracker logged while
    the chat was paused, a different one for each. Turns are not paired with occurrences in
    order: a failed turn (the apology, then the customer sends it again) may or may not be in
    the tracker (invariant 1), so the n-th turn of a text need not be its n-th occurrence.
    """
    found = Findings()
    logged_while_paused: Counter[str] = Counter(
        str(event.get("text"))
        for event, paused in _with_pause_state(tracker)
        if event["event"] == "user" and paused
    )
    silent = Counter(t.text for t in customer.turns if t.replies == [] and not t.failed)
    for text, times in silent.items():
        if times > logged_while_paused[text]:
            found.violations.append(
                f"{customer.sender}: silence after {text!r} ({times}x silent, logged"
                f" {logged_while_paused[text]}x while paused); the tracker: {trail(tracker)}"
            )
    return found


def trail(tracker: Mapping[str, Any], last: int = 30) -> str:
    """The conversation in brief, as a violation's evidence: its last `last` messages, pauses,
    resumes and handoff slots."""
    briefs = []
    for event in tracker["events"]:
        kind = str(event["event"])
        if kind in ("user", "bot"):
            briefs.append(f"{kind}:{str(event.get('text'))[:32]}")
        elif kind in ("pause", "resume"):
            briefs.append(kind)
        elif kind == "slot" and str(event.get("name")).endswith("handoff_id"):
            briefs.append(f"{event.get('name')}={str(event.get('value'))[:8]}")
    return " | ".join(briefs[-last:])


def check_handoffs(
    customer: Customer, tracker: Mapping[str, Any], system: DeskStack
) -> tuple[Findings, bool]:
    """Invariants 2 and 4: told of a person ⇔ exactly one handoff in the desk; a claimed
    handoff's customer was told the agent joined. The bool: whether it has settled (a told
    customer's handoff may still be in the outbox, a new handoff not yet confirmed)."""
    found = Findings()
    bot_said = [str(e.get("text") or "") for e in tracker["events"] if e["event"] == "bot"]
    replies = [r for t in customer.turns for r in (t.replies or [])]
    told = told_of_a_person(replies) or told_of_a_person(bot_said)
    handoffs = system.handoffs_of(customer.sender)
    found.handoffs = len(handoffs)
    if told and not handoffs:
        found.handoffs_lost = 1
        found.violations.append(f"{customer.sender}: told of a person, no handoff in the desk")
    if len(handoffs) > 1:
        found.handoffs_duplicated = len(handoffs) - 1
        found.violations.append(f"{customer.sender}: {len(handoffs)} handoffs in the desk")
    if handoffs and not told:
        found.violations.append(f"{customer.sender}: a handoff exists, the customer was not told")
    joined = any(_notice(e) == DeskNotice.AGENT_JOINED.value for e in tracker["events"])
    claimed = any(h.claimed_at is not None for h in handoffs)
    if claimed and not joined:
        found.violations.append(f"{customer.sender}: claimed, the customer not told who joined")
    deliveries = Counter(
        (e.get("metadata") or {}).get(DESK_NOTICE_ID_KEY)
        for e in tracker["events"]
        if e["event"] == "bot"
    )
    for notice_id, times in deliveries.items():
        if notice_id is not None and times > 1:
            kind = notice_id.split("/")[1] if "/" in notice_id else notice_id
            found.violations.append(f"{customer.sender}: the desk said {kind} {times}x")
    return found, not found.violations


async def check_all(system: DeskStack, customers: Sequence[Customer]) -> Findings:
    """Every invariant over every customer, once the system has settled (or the deadline has
    passed: then what is still wrong is reported)."""
    async with aiohttp.ClientSession() as http:
        trackers: dict[str, Mapping[str, Any]] = {}

        async def settled() -> bool:
            for customer in customers:
                trackers[customer.sender] = await tracker_of(http, system, customer.sender)
            return all(
                check_handoffs(c, trackers[c.sender], system)[1]
                and not check_messages(c, trackers[c.sender]).messages_lost
                for c in customers
            )

        # Not settled by the deadline: what is still wrong is counted below.
        with contextlib.suppress(AssertionError):
            await eventually(settled, "the system settles", timeout=SETTLE_SECONDS)
    total = Findings()
    for customer in customers:
        tracker = trackers[customer.sender]
        total.add(check_messages(customer, tracker))
        total.add(check_ownership(customer, tracker))
        total.add(check_no_silence(customer, tracker))
        total.add(check_handoffs(customer, tracker, system)[0])
    return total
