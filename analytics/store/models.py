"""The fact tables: one row per conversation, handoff, agent's part, stage change and bot
failure point, plus the watermarks and the record of each build.

Every fact carries `day`, the local calendar day (ANALYTICS_TIMEZONE) of the moment it is
attributed to (docs/metrics.md, "Conventions"), so a period is a range of days and a week is a
range of seven. Facts are derived: `python -m analytics --rebuild` may drop and rebuild them from
the sources at any time. No customer text is stored here, only ids, names of intents, steps
and queues, times and counts.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Date, Float, Index, Integer, String
from sqlalchemy.orm import Mapped

from sqlsupport.models import new_base
from sqlsupport.types import UTCDateTime

Base: Any = new_base()


class Watermark(Base):
    """How far the build has read one source: the id of the last row folded in."""

    __tablename__ = "watermarks"

    source: Mapped[str] = Column(String(32), primary_key=True)
    last_id: Mapped[int] = Column(Integer, nullable=False)
    updated_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)


class BuildRun(Base):
    """One build: when, how much it read, what it could not parse."""

    __tablename__ = "build_runs"

    id: Mapped[int] = Column(Integer, primary_key=True)
    started_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    finished_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    tracker_events: Mapped[int] = Column(Integer, nullable=False)
    handoffs: Mapped[int] = Column(Integer, nullable=False)
    stage_changes: Mapped[int] = Column(Integer, nullable=False)
    unparseable: Mapped[int] = Column(Integer, nullable=False)


class UnparseableEvent(Base):
    """A source row the build could not read: which, and why (never its content)."""

    __tablename__ = "unparseable_events"

    id: Mapped[int] = Column(Integer, primary_key=True)
    source: Mapped[str] = Column(String(32), nullable=False)
    source_id: Mapped[int] = Column(Integer, nullable=False)
    reason: Mapped[str] = Column(String(200), nullable=False)
    seen_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)


class ConversationFact(Base):
    """One conversation (a Rasa session of one sender), attributed to its first customer
    message. `state` is the fold's memory while the conversation may still grow."""

    __tablename__ = "conversation_facts"
    __table_args__ = (
        # Covers the report's per-day counts and shares (migration 0006).
        Index(
            "ix_conversation_facts_report",
            "day",
            "engaged",
            "journey",
            "channel",
            "handed_off",
            "handoff_id",
            "last_event_ts",
            "returned_ts",
            "bot_csat_asked",
            "bot_csat_rating",
        ),
        Index("ix_conversation_facts_sender_id_journey", "sender_id", "journey"),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    sender_id: Mapped[str] = Column(String(255), nullable=False)
    started_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    first_message_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    last_event_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    #: `last_event_at` and `returned_at` as epoch seconds, so the durable-containment window
    #: is plain arithmetic in any SQL dialect.
    last_event_ts: Mapped[float] = Column(Float, nullable=False)
    returned_ts: Mapped[float | None] = Column(Float, nullable=True)
    day: Mapped[date | None] = Column(Date, nullable=True)
    channel: Mapped[str | None] = Column(String(64), nullable=True)
    journey: Mapped[str] = Column(String(32), nullable=False)
    engaged: Mapped[bool] = Column(Boolean, nullable=False)
    engaged_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    customer_messages: Mapped[int] = Column(Integer, nullable=False)
    handed_off: Mapped[bool] = Column(Boolean, nullable=False)
    #: The conversation's first handoff (its id, as the bot set it).
    handoff_id: Mapped[str | None] = Column(String(36), nullable=True, index=True)
    #: Engaged customer messages before the one that triggered the first handoff: 0 means the
    #: bot tried nothing (a person-only journey).
    turns_before_handoff: Mapped[int | None] = Column(Integer, nullable=True)
    bot_csat_asked: Mapped[bool] = Column(Boolean, nullable=False)
    bot_csat_rating: Mapped[int | None] = Column(Integer, nullable=True)
    fallbacks: Mapped[int] = Column(Integer, nullable=False)
    #: When the same sender next started an engaged conversation in the same journey.
    returned_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    last_event_id: Mapped[int] = Column(Integer, nullable=False)
    state: Mapped[dict[str, Any]] = Column(JSON, nullable=False)


class HandoffFact(Base):
    """One handoff, attributed to when it was (first) queued."""

    __tablename__ = "handoff_facts"
    __table_args__ = (Index("ix_handoff_facts_day", "day"),)

    handoff_id: Mapped[str] = Column(String(36), primary_key=True)
    sender_id: Mapped[str] = Column(String(255), nullable=False)
    day: Mapped[date] = Column(Date, nullable=False)
    journey: Mapped[str] = Column(String(32), nullable=False)
    first_queue: Mapped[str] = Column(String(64), nullable=False)
    queue: Mapped[str] = Column(String(64), nullable=False)
    reason_code: Mapped[str] = Column(String(64), nullable=False)
    trigger_type: Mapped[str] = Column(String(32), nullable=False)
    status: Mapped[str] = Column(String(16), nullable=False)
    triggered_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    queued_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    first_claimed_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    first_agent_reply_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    handed_back_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    abandoned_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    expired_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    callback_left: Mapped[bool] = Column(Boolean, nullable=False)
    callback_done_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    transfers: Mapped[int] = Column(Integer, nullable=False)
    #: Milliseconds from the triggering customer message to queued (None: no such message).
    system_ms: Mapped[float | None] = Column(Float, nullable=True)
    #: Seconds from queued to the first claim (None: never claimed).
    wait_s: Mapped[float | None] = Column(Float, nullable=True)
    #: Seconds from queued, and from the first claim, to the first agent reply (None: none).
    first_reply_s: Mapped[float | None] = Column(Float, nullable=True)
    claim_to_reply_s: Mapped[float | None] = Column(Float, nullable=True)
    csat_rating: Mapped[int | None] = Column(Integer, nullable=True)
    #: Copied from the conversation the handoff was the first of (None until the tracker's
    #: side is built, or for a conversation's later handoffs): its channel, and its engaged
    #: customer messages before the trigger (0: a person-only journey).
    channel: Mapped[str | None] = Column(String(64), nullable=True)
    turns_before_handoff: Mapped[int | None] = Column(Integer, nullable=True)
    #: For the FMEA (docs/metrics.md, "FMEA occurrence"): other handoffs of the conversation
    #: intake answered with this one; hand-backs Rasa refused; agents of its queue online at
    #: intake (None: queued before the desk recorded it); seconds from the bot building the
    #: context (`requested_at`) to queued.
    duplicates_suppressed: Mapped[int] = Column(
        Integer, nullable=False, default=0, server_default="0"
    )
    hand_back_refusals: Mapped[int] = Column(Integer, nullable=False, default=0, server_default="0")
    agents_online_at_queue: Mapped[int | None] = Column(Integer, nullable=True)
    delivery_s: Mapped[float | None] = Column(Float, nullable=True)


class HandlePart(Base):
    """One agent's part of a handoff: their claim to their transfer or resolve; attributed to
    its end."""

    __tablename__ = "handle_parts"
    __table_args__ = (Index("ix_handle_parts_day", "day"),)

    handoff_id: Mapped[str] = Column(String(36), primary_key=True)
    seq: Mapped[int] = Column(Integer, primary_key=True)
    agent: Mapped[str] = Column(String(100), nullable=False)
    queue: Mapped[str] = Column(String(64), nullable=False)
    claimed_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    ended_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    ended_by: Mapped[str] = Column(String(16), nullable=False)
    seconds: Mapped[float] = Column(Float, nullable=False)
    day: Mapped[date] = Column(Date, nullable=False)


class StageChange(Base):
    """A mortgage application moved from one stage to another (a timeline entry's effect)."""

    __tablename__ = "stage_changes"
    __table_args__ = (Index("ix_stage_changes_day", "day"),)

    #: The timeline entry (application_events.id) that moved it.
    event_id: Mapped[int] = Column(Integer, primary_key=True)
    application_id: Mapped[int] = Column(Integer, nullable=False, index=True)
    from_stage: Mapped[str | None] = Column(String(32), nullable=True)
    to_stage: Mapped[str] = Column(String(32), nullable=False)
    kind: Mapped[str] = Column(String(64), nullable=False)
    touchpoint: Mapped[str] = Column(String(32), nullable=False)
    occurred_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    day: Mapped[date] = Column(Date, nullable=False)


class FailurePoint(Base):
    """One place the bot failed in a conversation: a fallback, a troubleshooting step answered,
    a form question asked again. Keyed by the tracker event that showed it."""

    __tablename__ = "failure_points"
    # Covers the report's GROUP BY (kind, subject) over a range of days.
    __table_args__ = (
        Index("ix_failure_points_day_kind_subject_helped", "day", "kind", "subject", "helped"),
    )

    event_id: Mapped[int] = Column(Integer, primary_key=True)
    kind: Mapped[str] = Column(String(16), primary_key=True)
    seq: Mapped[int] = Column(Integer, primary_key=True)
    conversation_id: Mapped[int] = Column(Integer, nullable=False)
    #: The local day the failure happened (cuts by journey and channel go through the
    #: conversation).
    day: Mapped[date] = Column(Date, nullable=False)
    #: The intent (fallback), `tree/step` (troubleshooting step) or `form/slot` (re-ask).
    subject: Mapped[str] = Column(String(200), nullable=False)
    #: A troubleshooting step's answer helped.
    helped: Mapped[bool | None] = Column(Boolean, nullable=True)


class StageFact(Base):
    """A journey stage one unit reached (the first time): a conversation (`c<id>`), or a
    mortgage application across its touchpoints (`a<id>`). Attributed, for the period, to the
    unit's start (`day`: every stage of a unit carries the day of its first)."""

    __tablename__ = "stage_facts"
    # Covers the planning views' reads (migration 0005): answered from the index alone.
    __table_args__ = (
        Index(
            "ix_stage_facts_planning",
            "journey",
            "day",
            "stage",
            "next_stage",
            "seconds_to_next",
            "sentiment_sum",
            "sentiment_turns",
            "position",
            "conversation_id",
        ),
    )

    unit: Mapped[str] = Column(String(24), primary_key=True)
    stage: Mapped[str] = Column(String(64), primary_key=True)
    journey: Mapped[str] = Column(String(32), nullable=False)
    #: Its place among the unit's stages, in the order they were reached (0 first).
    position: Mapped[int] = Column(Integer, nullable=False)
    reached_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    day: Mapped[date] = Column(Date, nullable=False)
    #: The stage the unit reached next, and how long after (None: none yet).
    next_stage: Mapped[str | None] = Column(String(64), nullable=True)
    seconds_to_next: Mapped[float | None] = Column(Float, nullable=True)
    #: VADER compound scores of the customer turns while this was the unit's latest stage.
    sentiment_sum: Mapped[float] = Column(Float, nullable=False)
    sentiment_turns: Mapped[int] = Column(Integer, nullable=False)
    conversation_id: Mapped[int | None] = Column(Integer, nullable=True, index=True)
    application_id: Mapped[int | None] = Column(Integer, nullable=True)


class HandoffField(Base):
    """One field of one handoff for the repeat rate (docs/metrics.md, "Repeat rate"): whether
    the context carried it, and how often it was restated by the customer or asked for by an
    agent after the handoff. Only fields carried, or asked for, have a row."""

    __tablename__ = "handoff_fields"

    handoff_id: Mapped[str] = Column(String(36), primary_key=True)
    field: Mapped[str] = Column(String(32), primary_key=True)
    conversation_id: Mapped[int] = Column(Integer, nullable=False)
    carried: Mapped[bool] = Column(Boolean, nullable=False)
    restated: Mapped[int] = Column(Integer, nullable=False)
    asked: Mapped[int] = Column(Integer, nullable=False)
    #: The first repeat: when, which kind, and the tracker event that showed it.
    first_repeat_at: Mapped[datetime | None] = Column(UTCDateTime, nullable=True)
    first_repeat_kind: Mapped[str | None] = Column(String(16), nullable=True)
    first_repeat_event_id: Mapped[int | None] = Column(Integer, nullable=True)


class ApplicationOutcome(Base):
    """A mortgage timeline entry that ends a document review or a branch appointment: a
    document accepted or rejected (with its checklist item), an appointment signed at or
    missed. The FMEA counts documents rejected twice and appointments missed from these."""

    __tablename__ = "application_outcomes"
    __table_args__ = (Index("ix_application_outcomes_day_kind", "day", "kind"),)

    #: The timeline entry (application_events.id).
    event_id: Mapped[int] = Column(Integer, primary_key=True)
    application_id: Mapped[int] = Column(Integer, nullable=False, index=True)
    kind: Mapped[str] = Column(String(64), nullable=False)
    #: The checklist item of a document review (None for an appointment).
    item: Mapped[str | None] = Column(String(64), nullable=True)
    occurred_at: Mapped[datetime] = Column(UTCDateTime, nullable=False)
    day: Mapped[date] = Column(Date, nullable=False)
