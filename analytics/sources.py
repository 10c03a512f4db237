"""The tables the analytics reads and does not own, as SQLAlchemy Core: Rasa's tracker store
(`events`, as Rasa 3.6's `SQLTrackerStore` writes it) and the desk's handoffs, their history,
agents and the mortgage timelines (as `desk/store/models.py` defines them; a test checks that
every column named here exists there). Only the columns the build reads are declared.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Float, Integer, MetaData, String, Table, Text

from sqlsupport.types import UTCDateTime

TRACKER = MetaData()
DESK = MetaData()

#: Rasa's tracker store: one row per event, in the order they happened (`id`).
EVENTS = Table(
    "events",
    TRACKER,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)

HANDOFFS = Table(
    "handoffs",
    DESK,
    Column("handoff_id", String(36), primary_key=True),
    Column("sender_id", String(255)),
    Column("queue", String(64)),
    Column("reason_code", String(64)),
    Column("trigger_type", String(32)),
    Column("flow", String(32)),
    Column("context", Text),
    Column("status", String(16)),
    Column("requested_at", UTCDateTime),
    Column("queued_at", UTCDateTime),
    Column("first_agent_reply_at", UTCDateTime),
    Column("resolved_at", UTCDateTime),
    Column("handed_back_at", UTCDateTime),
    Column("abandoned_at", UTCDateTime),
    Column("expired_at", UTCDateTime),
    Column("csat_rating", Integer),
    Column("callback_message", Text),
    Column("callback_done_at", UTCDateTime),
    Column("transfer_count", Integer),
)

HANDOFF_EVENTS = Table(
    "handoff_events",
    DESK,
    Column("id", Integer, primary_key=True),
    Column("handoff_id", String(36)),
    Column("occurred_at", UTCDateTime),
    Column("kind", String(32)),
    Column("actor_agent_id", Integer),
    Column("detail", JSON),
)

AGENTS = Table(
    "agents",
    DESK,
    Column("id", Integer, primary_key=True),
    Column("display_name", String(100)),
)

APPLICATION_EVENTS = Table(
    "application_events",
    DESK,
    Column("id", Integer, primary_key=True),
    Column("application_id", Integer),
    Column("occurred_at", UTCDateTime),
    Column("touchpoint", String(32)),
    Column("kind", String(64)),
    Column("stage", String(32)),
    Column("detail", JSON),
)
