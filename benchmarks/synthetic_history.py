"""A synthetic history for the analytics' benchmark: a Rasa tracker store and a desk database
as the real ones would look after weeks of traffic, in files of their own.

    python -m benchmarks.synthetic_history --out DIR [--days 30] [--conversations 100000]
                                           [--handoffs 20000] [--seed 11] [--end YYYY-MM-DD]

writes `DIR/synthetic-tracker.db` (Rasa 3.6's `events` table, each row as its
`SQLTrackerStore.save` writes it: `type_name`, `timestamp`, `intent_name`, `action_name` (an
action's, slot's or loop's `name`) and `data`, the event's `as_dict()` as JSON) and
`DIR/synthetic-desk.db` (the desk's migrated schema with agents, handoffs and their history).

The conversations mix the journeys (order status, troubleshooting, mortgage), small talk,
fallbacks, form re-asks, troubleshooting steps that did or did not help, the bot-only rating
(`bot_csat_form` and `bot_csat_rating`) and handoffs (`action_handoff` and the `handoff_id`
slot), a quarter of them from customers coming back. Every handed-off conversation has its
desk handoff with the same id, queued a moment after the tracker's `action_handoff`, and a
history of claims, transfers, resolutions, hand-backs, abandons, expiries with a callback
message, and ratings, in time order.

They reach the journey map's stages as the real system marks them (`content/journey_stages.yml`):
order numbers in the demo's `ORD-` form and `order_outcome` reported or escalated;
troubleshooting passes with `troubleshooting_cycle` 1 to 3 and `troubleshooting_outcome`; the
desk's notices in the conversation (`queue_position`, `agent_joined`, `agent_left`: `bot`
events marked `metadata.desk_notice`), the agents' messages (`bot` events marked
`metadata.handoff_agent`, some asking for the order number, some customers restating it), the
hand-back's `resume` and the agent's rating (`csat_rating`); customer words with a sentiment.
Each mortgage conversation starts an application (`mortgage_applications`) whose timeline
(`application_events`, with the stage after each entry) goes on, for fewer and fewer of them,
to the advisor, documents, the branch appointment and the signing.

Synthetic and never the demo's: every sender id starts with `synthetic-`, the files are named
`synthetic-*.db`, each holds a `synthetic_history` table saying how it was made, and the
generator refuses the project's own `var/` directory (use `var/bench/...` or a temporary
directory). Deterministic: the same seed, sizes and end day give the same rows.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final

from contract.conversation_marks import (
    ACTION_HANDOFF,
    FORM_BOT_CSAT,
    INTENT_NLU_FALLBACK,
    INTENT_REQUEST_HUMAN,
    SLOT_BOT_CSAT_RATING,
    SLOT_HANDOFF_ID,
    SLOT_REQUESTED,
    SLOT_TROUBLESHOOTING_ATTEMPTS,
    SLOT_TROUBLESHOOTING_TREE,
)
from contract.desk_notices import DESK_NOTICE_KEY, DeskNotice
from contract.webchat import AGENT_METADATA_KEY
from desk.store.database import Database
from desk.store.models import PRIORITY_RANK

PROJECT_ROOT: Final = Path(__file__).resolve().parent.parent
TRACKER_FILE: Final = "synthetic-tracker.db"
DESK_FILE: Final = "synthetic-desk.db"
#: The table that marks a database as synthetic (key/value: how it was made).
MARKER_TABLE: Final = "synthetic_history"
SENDER_PREFIX: Final = "synthetic-"
DEFAULT_SEED: Final = 11

#: Rasa 3.6's `SQLTrackerStore.SQLEvent` table, as its `create_all` writes it for SQLite.
EVENTS_DDL: Final = (
    "CREATE TABLE events (id INTEGER NOT NULL, sender_id VARCHAR(255) NOT NULL, "
    "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
    "action_name VARCHAR(255), data TEXT, PRIMARY KEY (id))",
    "CREATE INDEX ix_events_sender_id ON events (sender_id)",
)

#: How SQLAlchemy's SQLite `DateTime` stores a (naive UTC) moment.
_SQLITE_DATETIME: Final = "%Y-%m-%d %H:%M:%S.%f"

#: Share of conversations by hour of the day (UTC), busier in working hours.
_HOUR_WEIGHTS: Final = (1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 10, 9, 8, 9, 10, 10, 9, 8, 7, 6, 5, 4, 3, 2)
_CHANNELS: Final = ("socketio", "socketio", "socketio", "rest")
_TREES: Final = {
    "no_internet": ("check_dsl_cable", "remove_extensions", "restart_hub", "check_service_status"),
    "no_wifi": ("check_wifi_button", "restart_hub", "move_closer", "forget_network"),
    "general": ("restart_hub", "check_cables", "check_status_light", "test_another_device"),
}
_QUEUE_OF_FLOW: Final = {
    "order_status": "order_support",
    "troubleshooting": "tech_support_l2",
    "mortgage": "mortgage_advisors",
    "none": "general_support",
}
#: Handoff routes: (flow, reason code, trigger type), and how many of the handoffs take each.
_HANDOFF_ROUTES: Final = (
    (("order_status", "order_delayed", "business_rule"), 25),
    (("order_status", "order_lost", "business_rule"), 6),
    (("order_status", "customer_request", "user_request"), 9),
    (("troubleshooting", "cycle_limit", "cycle_limit"), 22),
    (("troubleshooting", "customer_request", "user_request"), 6),
    (("mortgage", "needs_advice", "needs_advice"), 12),
    (("none", "customer_request", "user_request"), 12),
    (("none", "nlu_fallback", "nlu_fallback"), 8),
)
#: Bot-only conversations by kind, and how many of them take each.
_CONTAINED_KINDS: Final = (
    ("order", 38),
    ("troubleshooting", 20),
    ("mortgage", 10),
    ("small_talk", 24),
    ("fallback", 8),
)
_AGENTS: Final = (
    ("order_support", 8),
    ("tech_support_l2", 6),
    ("mortgage_advisors", 4),
    ("general_support", 4),
)
_ORDER_SLOTS: Final = ("order_number",)
SLOT_ORDER_NUMBER: Final = "order_number"
SLOT_ERROR_CODE: Final = "error_code"
#: Each tree's error code (the bot sets `error_code` from the customer's message).
_CODES: Final = {"no_internet": "E-1042", "no_wifi": "E-2210", "general": "E-9000"}
SLOT_ORDER_OUTCOME: Final = "order_outcome"
SLOT_ORDER_RECORD: Final = "order_record"
SLOT_TROUBLESHOOTING_CYCLE: Final = "troubleshooting_cycle"
SLOT_TROUBLESHOOTING_OUTCOME: Final = "troubleshooting_outcome"
SLOT_CSAT_RATING: Final = "csat_rating"
FORM_CSAT: Final = "csat_form"
#: The troubleshooting form's passes through a tree before Level 2 (content's cycle limit).
CYCLE_LIMIT: Final = 3
#: What customers say to an agent, with and without a sentiment VADER scores.
_CUSTOMER_WORDS: Final = (
    "ok",
    "thanks, that's great, really helpful",
    "this is ridiculous, I'm really annoyed it is still broken",
    "I have waited ages, terrible service",
    "fine, thank you",
    "perfect, you're a star",
)
#: Of the served order handoffs: the customer says the order number again, the agent asks.
RESTATE_SHARE: Final = 0.15
ASK_SHARE: Final = 0.1
#: The agent asking for a value the context carried (the repeat detector's "asked").
ASK_ORDER_NUMBER: Final = "Could you tell me your order number, please?"
#: How many mortgage applications go on to each next step of their timeline.
_APPLICATION_STEPS: Final = (
    # (timeline kind, stage after it, share that gets there from the step before)
    ("handed_to_advisor", "advice", 0.7),
    ("advice_outcome", "advice", 0.9),
    ("documents_requested", "documents", 0.8),
    ("document_uploaded", "documents", 0.85),
    ("document_accepted", "ready_to_sign", 0.8),
    ("appointment_booked", "appointment_booked", 0.8),
    ("signed", "signed", 0.75),
)
_MORTGAGE_SLOTS: Final = (
    "applicant_name",
    "email",
    "property_value",
    "deposit_amount",
    "employment_type",
)


@dataclass(frozen=True)
class HistorySize:
    """How much history to make."""

    days: int = 30
    conversations: int = 100_000
    handoffs: int = 20_000

    def check(self) -> None:
        """Raises ValueError for sizes that cannot be made."""
        if self.days < 1:
            raise ValueError("days must be 1 or more")
        if self.conversations < 1:
            raise ValueError("conversations must be 1 or more")
        if not 0 <= self.handoffs <= self.conversations:
            raise ValueError("handoffs must be between 0 and the number of conversations")


@dataclass(frozen=True)
class SyntheticHistory:
    """What the generator wrote, and where."""

    tracker_path: Path
    desk_path: Path
    size: HistorySize
    first_day: date
    last_day: date
    tracker_events: int
    handoff_events: int
    senders: int
    seconds: float
    #: This process's CPU time meanwhile (the rest is waiting for the disk or other processes).
    cpu_seconds: float

    @property
    def tracker_url(self) -> str:
        """SQLAlchemy URL of the tracker store."""
        return f"sqlite:///{self.tracker_path}"

    @property
    def desk_url(self) -> str:
        """SQLAlchemy URL of the desk's database."""
        return f"sqlite:///{self.desk_path}"


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).isoformat().replace("+00:00", "Z")


def _stored(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime(_SQLITE_DATETIME)


# --- tracker events ------------------------------------------------------------------------------


@dataclass
class _Script:
    """One conversation's tracker events as Rasa writes them, on a running clock."""

    sender_id: str
    clock: float
    channel: str
    rng: random.Random
    rows: list[tuple[float, str, str, str | None, str | None, str]] = field(default_factory=list)
    #: (timestamp, text, intent) of each customer message, for the handoff's transcript.
    said: list[tuple[float, str, str]] = field(default_factory=list)

    def _add(self, kind: str, body: dict[str, Any], intent: str | None = None) -> None:
        self.clock += 0.004 + self.rng.random() * 0.02
        body = {"event": kind, "timestamp": self.clock, **body}
        name = body.get("name")
        self.rows.append((self.clock, self.sender_id, kind, intent, name, json.dumps(body)))

    def pause(self, low: float, high: float) -> None:
        """The customer reads and types."""
        self.clock += self.rng.uniform(low, high)

    def action(self, name: str, policy: str | None = "RulePolicy") -> None:
        """Rasa ran an action."""
        self._add(
            "action",
            {
                "name": name,
                "policy": policy,
                "confidence": 1.0 if policy else None,
                "action_text": None,
                "hide_rule_turn": False,
            },
        )

    def session_start(self, carried: dict[str, Any]) -> None:
        """A new session: the slots carried over from the last one, then listening."""
        self.action("action_session_start", None)
        self._add("session_started", {})
        for name, value in carried.items():
            self.slot(name, value)
        self.action("action_listen", None)

    def user(
        self, intent: str, text: str, *, confidence: float = 0.93, below: str | None = None
    ) -> None:
        """A customer message (a fallback keeps the intent NLU ranked under the threshold)."""
        self.pause(4.0, 40.0)
        message_id = uuid.UUID(int=self.rng.getrandbits(128)).hex
        ranking = [{"name": intent, "confidence": confidence}]
        if below is not None:
            ranking.append({"name": below, "confidence": round(confidence - 0.05, 4)})
        parse_data = {
            "intent": {"name": intent, "confidence": confidence},
            "entities": [],
            "text": text,
            "message_id": message_id,
            "metadata": {},
            "intent_ranking": ranking,
        }
        self._add(
            "user",
            {
                "text": text,
                "parse_data": parse_data,
                "input_channel": self.channel,
                "message_id": message_id,
                "metadata": {},
            },
            intent=intent,
        )
        self.said.append((self.clock, text, intent))
        self._add("user_featurization", {"use_text_for_featurization": False})

    def bot(self, text: str, utter: str | None = None) -> None:
        """The bot (or an agent through the desk) wrote to the customer."""
        self._add(
            "bot",
            {
                "metadata": {"utter_action": utter} if utter else {},
                "text": text,
                "data": {
                    "elements": None,
                    "quick_replies": None,
                    "buttons": None,
                    "attachment": None,
                    "image": None,
                    "custom": None,
                },
            },
        )

    def slot(self, name: str, value: Any) -> None:
        """A slot was set."""
        self._add("slot", {"name": name, "value": value})

    def loop(self, name: str | None) -> None:
        """A form became active (or none: the active one ended)."""
        self._add("active_loop", {"name": name})

    def listen(self) -> None:
        """The bot waits for the customer."""
        self.action("action_listen")

    def ask(self, slot: str) -> None:
        """The active form asks for `slot`."""
        self.slot(SLOT_REQUESTED, slot)
        self.bot(f"(synthetic question for {slot})", f"utter_ask_{slot}")
        self.listen()

    def form(self, form: str, slots: Sequence[str], reask: float) -> None:
        """A journey form from activation to its end; each answer may be refused once."""
        self.action(form)
        self.loop(form)
        for slot in slots:
            self.ask(slot)
            if self.rng.random() < reask:
                self.user("inform", f"(synthetic unclear {slot})")
                self.action(form)
                self.slot(slot, None)
                self.ask(slot)
            value = self.value_of(slot)
            self.user("inform", value)
            self.action(form)
            self.slot(slot, value)
        self.slot(SLOT_REQUESTED, None)
        self.loop(None)

    def value_of(self, slot: str) -> str:
        """What the customer answers for a form's slot (an order number in the demo's form)."""
        if slot == SLOT_ORDER_NUMBER:
            return f"ORD-{self.rng.randrange(10**6):06d}"
        return f"synthetic-{slot}"

    def at(self, moment: float) -> None:
        """Move the conversation's clock on to `moment` (never back)."""
        self.clock = max(self.clock, moment)

    def slot_value(self, name: str) -> Any:
        """The value this conversation last set for a slot (None: not set)."""
        for row in reversed(self.rows):
            if row[2] == "slot" and row[4] == name:
                return json.loads(row[5])["value"]
        return None

    def notice(self, kind: DeskNotice, text: str) -> None:
        """A desk status message in the conversation (`metadata.desk_notice`)."""
        self._add("bot", {"metadata": {DESK_NOTICE_KEY: kind.value}, "text": text, "data": {}})

    def agent(self, agent_id: int, text: str) -> None:
        """An agent's message through the desk (`metadata.handoff_agent`)."""
        metadata = {AGENT_METADATA_KEY: {"id": agent_id, "name": f"Synthetic Agent {agent_id}"}}
        self._add("bot", {"metadata": metadata, "text": text, "data": {}})

    def resume(self, action: str) -> None:
        """The desk gives the conversation back to the bot, which runs `action`."""
        self._add("resume", {})
        self.action(action, None)

    def bot_csat(self) -> None:
        """The short bot-only rating, answered or skipped."""
        self.action(FORM_BOT_CSAT)
        self.loop(FORM_BOT_CSAT)
        self.ask(SLOT_BOT_CSAT_RATING)
        if self.rng.random() < 0.55:
            rating = self.rng.choices((1, 2, 3, 4, 5), (4, 5, 10, 35, 46))[0]
            self.user("inform", str(rating))
            self.action(FORM_BOT_CSAT)
            self.slot(SLOT_BOT_CSAT_RATING, rating)
        else:
            self.user("skip", "skip")
            self.action(FORM_BOT_CSAT)
            self.slot(SLOT_BOT_CSAT_RATING, None)
        self.slot(SLOT_REQUESTED, None)
        self.loop(None)
        self.bot("Thanks for letting us know.", "utter_thanks_for_rating")
        self.listen()

    def fallback(self) -> None:
        """A message NLU was not sure of."""
        below = self.rng.choice(("check_order_status", "report_error_code", "greet", "affirm"))
        self.user(INTENT_NLU_FALLBACK, "(synthetic unclear message)", confidence=0.31, below=below)
        self.action("action_nlu_fallback")
        self.bot("Sorry, I didn't get that. Could you say it another way?")
        self.listen()

    def hand_off(self, handoff_id: str) -> float:
        """The bot hands over; returns when the action ran (the desk queues just after)."""
        self.action(ACTION_HANDOFF)
        handed_at = self.clock
        self.slot(SLOT_HANDOFF_ID, handoff_id)
        self.bot("I'm passing you to a colleague.", "utter_passing_to_agent")
        self.listen()
        return handed_at


def _order(script: _Script, rng: random.Random, *, escalate: bool = False) -> None:
    script.user("check_order_status", "(synthetic where is my order)")
    script.form("order_form", _ORDER_SLOTS, reask=0.12)
    script.action("action_order_status")
    # As actions/orders.py does: the record found is kept, the form's slot is cleared.
    status = "delayed" if escalate else "shipped"
    order_number = script.slot_value(SLOT_ORDER_NUMBER)
    script.slot(SLOT_ORDER_RECORD, {"order_number": order_number, "status": status})
    script.slot(SLOT_ORDER_NUMBER, None)
    script.slot(SLOT_ORDER_OUTCOME, "escalate" if escalate else "reported")
    script.bot("(synthetic order status)")
    script.listen()


def _troubleshooting(script: _Script, rng: random.Random, *, resolve: bool) -> None:
    tree = rng.choice(sorted(_TREES))
    script.user("report_error_code", f"I keep getting error {_CODES[tree]}")
    script.action("action_start_troubleshooting")
    script.slot(SLOT_ERROR_CODE, _CODES[tree])
    script.slot(SLOT_TROUBLESHOOTING_TREE, tree)
    script.slot(SLOT_TROUBLESHOOTING_CYCLE, 1)
    script.slot(SLOT_TROUBLESHOOTING_ATTEMPTS, [])
    script.action("troubleshooting_form")
    script.loop("troubleshooting_form")
    steps = _TREES[tree]
    # Most fixes come in the first pass; a resolved walk stops at the step that helped.
    passes = CYCLE_LIMIT if not resolve else rng.choices((1, 2, 3), (70, 22, 8))[0]
    helped_at = rng.randrange(len(steps)) if resolve else None
    attempts: list[dict[str, Any]] = []
    for cycle in range(1, passes + 1):
        if cycle > 1:
            script.slot(SLOT_TROUBLESHOOTING_CYCLE, cycle)
        last = cycle == passes
        for index, step in enumerate(
            steps if not (resolve and last) else steps[: (helped_at or 0) + 1]
        ):
            script.ask("step_answer")
            helped = last and index == helped_at
            script.user("affirm" if helped else "deny", "yes" if helped else "no")
            script.action("troubleshooting_form")
            attempts.append(
                {
                    "kind": "troubleshooting_step",
                    "label": step,
                    "cycle": cycle,
                    "step": index + 1,
                    "outcome": "resolved" if helped else "unresolved",
                    "asked_at": _iso(script.clock - 5),
                    "answered_at": _iso(script.clock),
                }
            )
            script.slot("step_answer", "yes" if helped else None)
            script.slot(SLOT_TROUBLESHOOTING_ATTEMPTS, list(attempts))
    script.slot(SLOT_TROUBLESHOOTING_OUTCOME, "resolved" if resolve else "cycle_limit")
    script.slot(SLOT_REQUESTED, None)
    script.loop(None)
    if resolve:
        script.bot("Great, glad that fixed it.", "utter_troubleshooting_resolved")
        script.listen()


def _mortgage(script: _Script, rng: random.Random) -> None:
    script.user("start_mortgage", "(synthetic I want a mortgage)")
    script.form("mortgage_form", _MORTGAGE_SLOTS, reask=0.08)
    script.action("action_submit_mortgage_application")
    script.slot("application_reference", f"MA-{rng.randrange(10**6):06d}")
    script.bot("(synthetic application submitted)")
    script.listen()


def _small_talk(script: _Script, rng: random.Random) -> None:
    for intent in rng.choice((("greet",), ("greet", "bot_challenge"), ("thank", "goodbye"))):
        script.user(intent, f"(synthetic {intent})")
        script.action(f"utter_{intent}")
        script.bot(f"(synthetic reply to {intent})", f"utter_{intent}")
        script.listen()


def _contained(script: _Script, rng: random.Random, kind: str) -> None:
    """A conversation the bot finishes on its own."""
    if rng.random() < 0.15:
        _small_talk(script, rng)
    if rng.random() < 0.12:
        script.fallback()
    if kind == "order":
        _order(script, rng)
    elif kind == "troubleshooting":
        _troubleshooting(script, rng, resolve=True)
    elif kind == "mortgage":
        _mortgage(script, rng)
    elif kind == "small_talk":
        _small_talk(script, rng)
    else:
        script.fallback()
        script.user("goodbye", "(synthetic bye)")
        script.bot("Bye!", "utter_goodbye")
    if kind in ("order", "troubleshooting") and rng.random() < 0.6:
        script.bot_csat()


def _before_handoff(script: _Script, rng: random.Random, flow: str, reason: str) -> None:
    """The journey up to the moment it hands over."""
    if flow == "order_status":
        _order(script, rng, escalate=reason != "customer_request")
    elif flow == "troubleshooting":
        _troubleshooting(script, rng, resolve=False)
    elif flow == "mortgage":
        script.user("ask_mortgage_advice", "(synthetic which mortgage suits me)")
        script.action("action_offer_advice")
    elif reason == "nlu_fallback":
        script.fallback()
        script.fallback()
    if reason == "customer_request":
        script.user(INTENT_REQUEST_HUMAN, "(synthetic talk to a person)")


# --- the desk's handoffs ------------------------------------------------------------------------


@dataclass
class _DeskRows:
    """The desk's rows, ready for executemany."""

    handoffs: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    applications: list[tuple[Any, ...]] = field(default_factory=list)
    timeline: list[tuple[Any, ...]] = field(default_factory=list)


_HANDOFF_COLUMNS: Final = (
    "handoff_id",
    "sender_id",
    "queue",
    "priority",
    "priority_rank",
    "reason_code",
    "trigger_type",
    "flow",
    "customer_label",
    "context",
    "status",
    "agent_id",
    "requested_at",
    "queued_at",
    "claimed_at",
    "first_agent_reply_at",
    "resolved_at",
    "handed_back_at",
    "abandoned_at",
    "expired_at",
    "choice_offered_at",
    "bot_confirmed_at",
    "disposition",
    "csat_rating",
    "callback_message",
    "transfer_count",
    "callback_done_at",
)


_APPLICATION_COLUMNS: Final = (
    "id",
    "reference",
    "stage",
    "applicant_name",
    "email",
    "property_value",
    "deposit_amount",
    "loan_amount",
    "loan_to_value",
    "term_years",
    "annual_income",
    "employment_type",
    "origin_channel",
    "origin_sender_id",
    "created_at",
    "updated_at",
)


class _Desk:
    """Makes each handoff's desk row and history, with agents per queue, and each mortgage
    application's row and timeline up to `until` (the history's end)."""

    def __init__(self, rng: random.Random, until: float = float("inf")) -> None:
        self.rng = rng
        self.until = until
        self.rows = _DeskRows()
        self.agents: dict[str, list[int]] = {}
        self.agent_rows: list[tuple[Any, ...]] = []
        for queue, count in _AGENTS:
            for _ in range(count):
                agent_id = len(self.agent_rows) + 1
                self.agents.setdefault(queue, []).append(agent_id)
                self.agent_rows.append(
                    (agent_id, f"synthetic-agent-{agent_id}", f"Synthetic Agent {agent_id}")
                )

    def _event(self, handoff_id: str, at: float, kind: str, agent: int | None, detail: Any) -> None:
        self.rows.events.append((handoff_id, _stored(at), kind, agent, json.dumps(detail)))

    def application(self, script: _Script) -> None:
        """The application the mortgage form just submitted, and how far its timeline got."""
        rng = self.rng
        application_id = len(self.rows.applications) + 1
        started = script.rows[0][0]
        submitted = script.clock
        entries = [
            (started, "web_chat", "chat_started", "customer", "intake"),
            (submitted, "web_chat", "form_completed", "customer", "intake"),
        ]
        at = submitted
        for kind, stage, share in _APPLICATION_STEPS:
            if rng.random() >= share:
                break
            at += rng.lognormvariate(10.5, 1.0)  # a median of about 10 hours between steps
            if at > self.until:
                break
            touchpoint = "branch" if kind in ("appointment_booked", "signed") else "desk"
            entries.append((at, touchpoint, kind, "agent", stage))
        stage = entries[-1][4]
        value = rng.randrange(150, 900) * 1000
        deposit = value * rng.choice((10, 15, 20, 25)) // 100
        self.rows.applications.append(
            (
                application_id,
                f"MTG-{application_id:05d}",
                stage,
                f"Synthetic Applicant {application_id}",
                f"applicant{application_id}@example.com",
                value,
                deposit,
                value - deposit,
                round((value - deposit) / value, 4),
                25,
                rng.randrange(30, 150) * 1000,
                "employed",
                "web_chat",
                script.sender_id,
                _stored(submitted),
                _stored(entries[-1][0]),
            )
        )
        for moment, touchpoint, kind, actor_kind, stage in entries:
            self.rows.timeline.append(
                (application_id, _stored(moment), touchpoint, kind, actor_kind, "{}", stage)
            )

    def handoff(
        self,
        script: _Script,
        handoff_id: str,
        handed_at: float,
        route: tuple[str, str, str],
    ) -> float:
        """The desk's life of one handoff; returns when it ended (the bot may talk again)."""
        rng = self.rng
        flow, reason, trigger = route
        queue = _QUEUE_OF_FLOW[flow]
        queued = handed_at + rng.uniform(0.08, 0.6)
        transcript = [
            {"speaker": "customer", "text": text, "timestamp": _iso(at), "intent": intent}
            for at, text, intent in script.said[-4:]
        ]
        slots = {
            name: value
            for name in (SLOT_ORDER_RECORD, SLOT_ERROR_CODE)
            if (value := script.slot_value(name)) is not None
        }
        context = json.dumps(
            {"flow": flow, "transcript": transcript, "slots": slots, "synthetic": True}
        )
        values: dict[str, Any] = dict.fromkeys(_HANDOFF_COLUMNS)
        priority = "high" if reason in ("order_lost", "cycle_limit") else "normal"
        values.update(
            handoff_id=handoff_id,
            sender_id=script.sender_id,
            queue=queue,
            priority=priority,
            priority_rank=PRIORITY_RANK[priority],
            reason_code=reason,
            trigger_type=trigger,
            flow=flow,
            context=context,
            requested_at=_stored(handed_at),
            queued_at=_stored(queued),
            bot_confirmed_at=_stored(queued + 0.05),
            transfer_count=0,
        )
        self._event(handoff_id, queued, "queued", None, {"queue": queue})
        script.at(queued)
        script.notice(DeskNotice.QUEUE_POSITION, "(synthetic place in the queue)")
        fate = rng.random()
        if fate < 0.08:
            ended = queued + rng.uniform(20, 600)
            values.update(status="abandoned", abandoned_at=_stored(ended))
            self._event(handoff_id, ended, "abandoned", None, {})
            script.at(ended)
            script.user("cancel", "never mind")
            script.resume("action_handoff_cancelled")
            script.listen()
        elif fate < 0.15:
            offered = queued + 120
            ended = offered + rng.uniform(10, 200)
            values.update(
                status="expired",
                choice_offered_at=_stored(offered),
                expired_at=_stored(ended),
                callback_message="(synthetic callback message)",
            )
            self._event(handoff_id, offered, "choice_offered", None, {})
            script.at(offered)
            script.notice(DeskNotice.WAIT_CHOICE, "(synthetic keep waiting or leave a message)")
            self._event(handoff_id, ended, "expired", None, {"reason": "callback"})
            self._event(handoff_id, ended, "callback_received", None, {})
            script.at(ended)
            script.resume("action_ask_callback")
            script.listen()
            if rng.random() < 0.6:
                values["callback_done_at"] = _stored(ended + rng.uniform(600, 86400))
        else:
            ended = self._served(script, handoff_id, queued, queue, values)
        self.rows.handoffs.append(tuple(values[c] for c in _HANDOFF_COLUMNS))
        return ended

    def _served(
        self, script: _Script, handoff_id: str, queued: float, queue: str, values: dict[str, Any]
    ) -> float:
        """Claimed, maybe transferred, resolved, mostly handed back, sometimes rated."""
        rng = self.rng
        at = queued + rng.lognormvariate(3.8, 0.9)  # a median wait of about 45 s
        agent = rng.choice(self.agents[queue])
        values["claimed_at"] = _stored(at)
        self._event(handoff_id, at, "claimed", agent, {})
        script.at(at)
        script.notice(DeskNotice.AGENT_JOINED, "(synthetic agent joined)")
        record = script.slot_value(SLOT_ORDER_RECORD)
        order_number = record["order_number"] if isinstance(record, dict) else None
        fate = rng.random() if order_number else 1.0
        if fate < RESTATE_SHARE:
            # The customer says again what the bot already passed on.
            script.user("provide_order_number", f"It's {order_number}, I already said")
        reply = max(at + rng.uniform(8, 60), script.clock)
        values["first_agent_reply_at"] = _stored(reply)
        self._event(handoff_id, reply, "first_agent_reply", agent, {})
        script.at(reply)
        if RESTATE_SHARE <= fate < RESTATE_SHARE + ASK_SHARE:
            script.agent(agent, ASK_ORDER_NUMBER)
            script.user("provide_order_number", str(order_number))
        else:
            script.agent(agent, "(synthetic agent reply)")
            script.user("inform", rng.choice(_CUSTOMER_WORDS))
        at = max(reply, script.clock)
        if rng.random() < 0.1:
            target = rng.choice([q for q, _ in _AGENTS if q != queue])
            at += rng.uniform(30, 300)
            self._event(handoff_id, at, "transferred", agent, {"from": queue, "to": target})
            values.update(queue=target, transfer_count=1)
            queue = target
            at += rng.lognormvariate(3.5, 0.8)
            agent = rng.choice(self.agents[queue])
            # The desk clears claimed_at at a transfer and sets it again at the next claim.
            values["claimed_at"] = _stored(at)
            self._event(handoff_id, at, "claimed", agent, {})
            script.at(at)
            script.notice(DeskNotice.AGENT_JOINED, "(synthetic agent joined)")
        at += rng.lognormvariate(5.5, 0.6)  # about 4 minutes of handling
        disposition = rng.choice(("resolved", "resolved", "resolved", "resolved_with_followup"))
        values.update(
            status="resolved",
            agent_id=agent,
            resolved_at=_stored(at),
            disposition=disposition,
        )
        self._event(handoff_id, at, "resolved", agent, {"disposition": disposition, "slots": {}})
        script.at(at)
        script.notice(DeskNotice.AGENT_LEFT, "(synthetic agent left)")
        at = script.clock
        if rng.random() < 0.85:
            at += rng.uniform(0.5, 3)
            values.update(status="handed_back", handed_back_at=_stored(at))
            self._event(handoff_id, at, "handed_back", None, {})
            script.at(at)
            script.resume("action_welcome_back")
            script.bot("Welcome back! Is there anything else I can help with?")
            if rng.random() < 0.5:
                rating = rng.choices((1, 2, 3, 4, 5), (5, 5, 10, 30, 50))[0]
                script.loop(FORM_CSAT)
                script.ask(SLOT_CSAT_RATING)
                script.user("inform", str(rating))
                script.action(FORM_CSAT)
                script.slot(SLOT_CSAT_RATING, rating)
                script.slot(SLOT_REQUESTED, None)
                script.loop(None)
                at = script.clock
                values["csat_rating"] = rating
                self._event(
                    handoff_id, at, "csat_received", None, {"rating": rating, "has_comment": False}
                )
            script.listen()
            at = max(at, script.clock)
        return at


# --- the whole history ------------------------------------------------------------------------


def _plan(size: HistorySize, rng: random.Random) -> list[tuple[str, Any]]:
    """Each conversation's kind, in a shuffled order: exactly `size.handoffs` hand over."""
    routes = [route for route, _ in _HANDOFF_ROUTES]
    route_weights = [weight for _, weight in _HANDOFF_ROUTES]
    kinds = [kind for kind, _ in _CONTAINED_KINDS]
    kind_weights = [weight for _, weight in _CONTAINED_KINDS]
    plan: list[tuple[str, Any]] = [
        ("handoff", route) for route in rng.choices(routes, route_weights, k=size.handoffs)
    ]
    contained = size.conversations - size.handoffs
    plan += [("contained", kind) for kind in rng.choices(kinds, kind_weights, k=contained)]
    rng.shuffle(plan)
    return plan


def _starts(size: HistorySize, first_day: date, rng: random.Random) -> list[float]:
    """Each conversation's start, sorted, spread over the days with a working-hours peak."""
    midnight = datetime(first_day.year, first_day.month, first_day.day, tzinfo=timezone.utc)
    base = midnight.timestamp()
    hours = rng.choices(range(24), _HOUR_WEIGHTS, k=size.conversations)
    return sorted(
        base + rng.randrange(size.days) * 86400 + hour * 3600 + rng.random() * 3600
        for hour in hours
    )


def _events(
    size: HistorySize, first_day: date, rng: random.Random, desk: _Desk
) -> tuple[list[tuple[Any, ...]], int]:
    """Every tracker row (time order) and how many senders wrote them."""
    plan = _plan(size, rng)
    rows: list[tuple[Any, ...]] = []
    #: Senders free again (their last conversation over for more than Rasa's session expiry).
    returning: list[tuple[str, float, dict[str, Any]]] = []
    senders = 0
    for start, (mode, what) in zip(_starts(size, first_day, rng), plan, strict=True):
        carried: dict[str, Any] = {}
        if returning and rng.random() < 0.25:
            index = rng.randrange(len(returning))
            sender_id, free_at, carried = returning[index]
            if free_at > start:
                sender_id, carried = "", {}
            else:
                returning[index] = returning[-1]
                returning.pop()
        else:
            sender_id = ""
        if not sender_id:
            senders += 1
            sender_id = f"{SENDER_PREFIX}{uuid.UUID(int=rng.getrandbits(128))}"
        script = _Script(sender_id, start, rng.choice(_CHANNELS), rng)
        script.session_start(carried)
        if mode == "handoff":
            flow, reason, _ = what
            _before_handoff(script, rng, flow, reason)
            handoff_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            handed_at = script.hand_off(handoff_id)
            desk.handoff(script, handoff_id, handed_at, what)
            carried = {SLOT_HANDOFF_ID: handoff_id}
        else:
            _contained(script, rng, what)
            if what == "mortgage":
                desk.application(script)
            carried = {}
        rows += script.rows
        if rng.random() < 0.5:
            returning.append((sender_id, script.clock + 3700, carried))
    rows.sort(key=lambda row: row[0])
    return rows, senders


def _mark(connection: sqlite3.Connection, size: HistorySize, seed: int, end: date) -> None:
    connection.execute(f"CREATE TABLE {MARKER_TABLE} (key VARCHAR(32) PRIMARY KEY, value TEXT)")
    connection.executemany(
        f"INSERT INTO {MARKER_TABLE} (key, value) VALUES (?, ?)",
        [
            ("generator", "benchmarks.synthetic_history"),
            ("seed", str(seed)),
            ("days", str(size.days)),
            ("conversations", str(size.conversations)),
            ("handoffs", str(size.handoffs)),
            ("last_day", end.isoformat()),
        ],
    )


def _fast(connection: sqlite3.Connection) -> None:
    # A scratch file rebuilt on demand: no journal, no fsync while writing it.
    connection.execute("PRAGMA journal_mode=OFF")
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("PRAGMA cache_size=-262144")  # 256 MiB


def _write_tracker(path: Path, rows: list[tuple[Any, ...]], mark: Callable[[Any], None]) -> None:
    connection = sqlite3.connect(path)
    try:
        _fast(connection)
        table, index = EVENTS_DDL
        connection.execute(table)
        connection.executemany(
            "INSERT INTO events (id, sender_id, type_name, timestamp, intent_name, action_name, "
            "data) VALUES (?, ?, ?, ?, ?, ?, ?)",
            _numbered(rows),
        )
        # Indexing the random sender ids once at the end is many times faster than row by row.
        connection.execute(index)
        mark(connection)
        connection.commit()
    finally:
        connection.close()


def _numbered(rows: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    for row_id, (moment, sender, kind, intent, name, data) in enumerate(rows, start=1):
        yield (row_id, sender, kind, moment, intent, name, data)


def _write_desk(path: Path, desk: _Desk, mark: Callable[[Any], None], agents_since: float) -> None:
    database = Database(f"sqlite:///{path}")
    try:
        database.migrate()
    finally:
        database.dispose()
    connection = sqlite3.connect(path)
    try:
        _fast(connection)
        columns = {row[1] for row in connection.execute("PRAGMA table_info(handoffs)")}
        if "callback_done_at" not in columns:
            # The desk before its migration 0007 has no "callback done" column yet.
            connection.execute("ALTER TABLE handoffs ADD COLUMN callback_done_at DATETIME")
        created = _stored(agents_since)
        connection.executemany(
            "INSERT INTO agents (id, username, display_name, password_hash, role, active, "
            "created_at) VALUES (?, ?, ?, '!synthetic', 'agent', 1, ?)",
            [(*agent, created) for agent in desk.agent_rows],
        )
        connection.executemany(
            f"INSERT INTO handoffs ({', '.join(_HANDOFF_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_HANDOFF_COLUMNS))})",
            desk.rows.handoffs,
        )
        # The history in time order, as the desk appends it.
        desk.rows.events.sort(key=lambda row: row[1])
        connection.executemany(
            "INSERT INTO handoff_events (handoff_id, occurred_at, kind, actor_agent_id, detail) "
            "VALUES (?, ?, ?, ?, ?)",
            desk.rows.events,
        )
        connection.executemany(
            f"INSERT INTO mortgage_applications ({', '.join(_APPLICATION_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_APPLICATION_COLUMNS))})",
            desk.rows.applications,
        )
        desk.rows.timeline.sort(key=lambda row: row[1])
        connection.executemany(
            "INSERT INTO application_events (application_id, occurred_at, touchpoint, kind, "
            "actor_kind, detail, stage) VALUES (?, ?, ?, ?, ?, ?, ?)",
            desk.rows.timeline,
        )
        mark(connection)
        connection.commit()
    finally:
        connection.close()


def _checked_out_dir(out: Path) -> Path:
    out = out.resolve()
    if out == (PROJECT_ROOT / "var").resolve():
        raise ValueError("refusing to write synthetic history next to the demo's databases")
    out.mkdir(parents=True, exist_ok=True)
    return out


def generate(
    out: Path,
    size: HistorySize = HistorySize(),
    *,
    seed: int = DEFAULT_SEED,
    end: date | None = None,
) -> SyntheticHistory:
    """Write the synthetic tracker store and desk database into `out` (replacing earlier ones).

    Args:
        out: A directory of the benchmark's (not the project's `var/`).
        size: Days, conversations and handoffs.
        seed: The random seed: the same seed, size and end give the same rows.
        end: The last day of the history (UTC; default: yesterday).

    Raises:
        ValueError: Sizes that cannot be made, or `out` is the demo's `var/`.
    """
    size.check()
    clock, cpu = time.perf_counter(), time.process_time()
    out = _checked_out_dir(out)
    last_day = end or (datetime.now(timezone.utc).date() - timedelta(days=1))
    first_day = last_day - timedelta(days=size.days - 1)
    rng = random.Random(seed)
    until = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), timezone.utc)
    desk = _Desk(rng, until.timestamp())
    rows, senders = _events(size, first_day, rng, desk)
    tracker_path, desk_path = out / TRACKER_FILE, out / DESK_FILE
    for path in (tracker_path, desk_path):
        path.unlink(missing_ok=True)

    def mark(connection: sqlite3.Connection) -> None:
        _mark(connection, size, seed, last_day)

    _write_tracker(tracker_path, rows, mark)
    since = datetime.combine(first_day, datetime.min.time(), timezone.utc).timestamp()
    _write_desk(desk_path, desk, mark, since)
    return SyntheticHistory(
        tracker_path=tracker_path,
        desk_path=desk_path,
        size=size,
        first_day=first_day,
        last_day=last_day,
        tracker_events=len(rows),
        handoff_events=len(desk.rows.events),
        senders=senders,
        seconds=time.perf_counter() - clock,
        cpu_seconds=time.process_time() - cpu,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (see the module doc)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.synthetic_history",
        description="Write a synthetic Rasa tracker store and desk database for the analytics.",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="DIR")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--handoffs", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--end", type=date.fromisoformat, metavar="YYYY-MM-DD")
    args = parser.parse_args(argv)
    size = HistorySize(args.days, args.conversations, args.handoffs)
    try:
        history = generate(args.out, size, seed=args.seed, end=args.end)
    except ValueError as error:
        parser.error(str(error))
    print(
        f"{size.conversations} conversations ({history.senders} senders), {size.handoffs} "
        f"handoffs, {history.tracker_events} tracker events and {history.handoff_events} handoff "
        f"events from {history.first_day} to {history.last_day} in {history.seconds:.1f} s "
        f"({history.cpu_seconds:.1f} s of CPU):\n"
        f"  {history.tracker_path}\n  {history.desk_path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
