"""A desk database built by hand for the live strip and the metrics: handoffs waiting,
transferred, claimed late and on time, resolved, handed back, abandoned and expired, at known
moments (T0 plus seconds; `NOW` is T0 + 1000 s), through the real services."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from desk.services import claims, handoffs, intake
from desk.services.agents import Actor
from desk.services.service_levels import ServiceLevels
from desk.store.database import Database
from desk.store.models import Disposition
from tests.desk.conftest import add_agents, at

NOW = at(1000)
#: The levels the world is judged by: order_support (the default) 120 s, tech_support_l2 300 s.
LEVELS = ServiceLevels(default_seconds=120.0, queues={"tech_support_l2": 300.0})


def build_world(
    db: Database,
    make_context: Callable[..., dict[str, Any]],
    actors: dict[str, Actor] | None = None,
) -> dict[str, str]:
    """Fill `db` (adding the test agents unless their `actors` are given); the handoff ids by
    their names here.

    - waiting_long: order_support since 0 (1000 s at NOW: beyond 120 s).
    - waiting_short: order_support since 950 (50 s).
    - transferred: order_support since 100, claimed at 350, transferred to tech_support_l2 at
      500, waiting there again (900 s from its first queue: beyond 300 s).
    - vip: a queue only the bot names, since 990 (10 s).
    - claimed_late: tech_support_l2 since 200, claimed at 700 (500 s: beyond 300 s).
    - claimed_on_time: order_support since 600, claimed at 650 (50 s), resolved at 800 and
      handed back at 810.
    - resolved_late: order_support since 300, claimed at 590 (290 s: beyond 120 s), resolved
      at 900.
    - claimed_long_ago: order_support since T0 - 2 h, claimed 1700 s later (beyond 120 s, but
      more than an hour before NOW).
    - abandoned: order_support since 0, abandoned at 300.
    - expired: order_support since 0, expired at 130.
    """
    actors = actors or add_agents(db)
    olivia, leo = actors["olivia"], actors["leo"]
    ids: dict[str, str] = {}

    def queue(name: str, queue_name: str, second: float) -> str:
        payload = make_context(queue=queue_name, sender_id=f"web-{name}")
        with db.session(write=True) as session:
            intake.receive(session, payload, now=at(second))
        ids[name] = str(payload["handoff_id"])
        return ids[name]

    def claim(actor: Actor, handoff_id: str, second: float) -> None:
        with db.session(write=True) as session:
            claims.claim(session, actor, handoff_id, now=at(second))

    def resolve(actor: Actor, handoff_id: str, second: float) -> None:
        with db.session(write=True) as session:
            handoffs.resolve(session, actor, handoff_id, Disposition.RESOLVED, now=at(second))

    queue("waiting_long", "order_support", 0)
    queue("waiting_short", "order_support", 950)
    transferred = queue("transferred", "order_support", 100)
    claim(olivia, transferred, 350)
    with db.session(write=True) as session:
        handoffs.transfer(session, olivia, transferred, "tech_support_l2", now=at(500))
    queue("vip", "vip_lounge", 990)
    claim(leo, queue("claimed_late", "tech_support_l2", 200), 700)
    on_time = queue("claimed_on_time", "order_support", 600)
    claim(olivia, on_time, 650)
    resolve(olivia, on_time, 800)
    with db.session(write=True) as session:
        handoffs.mark_handed_back(session, on_time, now=at(810))
    late = queue("resolved_late", "order_support", 300)
    claim(olivia, late, 590)
    resolve(olivia, late, 900)
    long_ago = -timedelta(hours=2).total_seconds()
    claim(olivia, queue("claimed_long_ago", "order_support", long_ago), long_ago + 1700)
    abandoned, expired = (
        queue("abandoned", "order_support", 0),
        queue("expired", "order_support", 0),
    )
    with db.session(write=True) as session:
        handoffs.abandon(session, abandoned, now=at(300))
        handoffs.expire(session, expired, now=at(130))
    return ids
