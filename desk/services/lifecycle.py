"""The one transition table of a handoff's status (docs/desk-design.md, "Lifecycle").

For each action on a handoff, the statuses it may start from and the status it leaves the
handoff in; an action that only needs a status (answering needs `claimed`) leaves it as it is.
Every service that checks or changes a status asks this table: `require` before acting (an
illegal transition raises the action's `Conflict`, with the message the API reports), and
`sources` / `target` for the conditional UPDATE that makes the change (`... WHERE status IN
(<sources>)`, so two concurrent changes never both win).

    queued ──claim──► claimed ──resolve──► resolved ──hand back──► handed_back
      │  ▲              │
      │  └──transfer────┘ (and queued → queued: to another queue)
      ├──abandon──► abandoned        ("never mind")
      └──expire───► expired          (the customer leaves a message instead)

An expired handoff's callback (the message left) is later marked done; its status stays.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from contract.handoff_status import HandoffStatus
from desk.services.errors import AlreadyClaimed, Conflict

QUEUED: Final = HandoffStatus.QUEUED
CLAIMED: Final = HandoffStatus.CLAIMED
RESOLVED: Final = HandoffStatus.RESOLVED
HANDED_BACK: Final = HandoffStatus.HANDED_BACK
ABANDONED: Final = HandoffStatus.ABANDONED
EXPIRED: Final = HandoffStatus.EXPIRED


class Action(str, enum.Enum):
    """What can be done to a handoff, as far as its status is concerned."""

    CLAIM = "claim"
    TRANSFER = "transfer"
    ANSWER = "answer"
    RESOLVE = "resolve"
    HAND_BACK = "hand_back"
    RETRY_HAND_BACK = "retry_hand_back"
    ABANDON = "abandon"
    EXPIRE = "expire"
    KEEP_WAITING = "keep_waiting"
    OFFER_CHOICE = "offer_choice"
    RATE = "rate"
    LEAVE_CALLBACK = "leave_callback"
    MARK_CALLBACK_DONE = "mark_callback_done"


@dataclass(frozen=True)
class Rule:
    """An action's allowed moves (from → to) and how a refusal reads.

    `refusal` is formatted with the handoff's `status` and `handoff_id`.
    """

    moves: Mapping[HandoffStatus, HandoffStatus]
    refusal: str
    error: type[Conflict] = Conflict


TABLE: Final[Mapping[Action, Rule]] = MappingProxyType(
    {
        Action.CLAIM: Rule(
            {QUEUED: CLAIMED},
            "handoff {handoff_id} is no longer waiting (it is {status})",
            AlreadyClaimed,
        ),
        Action.TRANSFER: Rule(
            {QUEUED: QUEUED, CLAIMED: QUEUED}, "a {status} handoff cannot be transferred"
        ),
        Action.ANSWER: Rule(
            {CLAIMED: CLAIMED}, "a {status} handoff cannot be answered; claim it first"
        ),
        Action.RESOLVE: Rule(
            {CLAIMED: RESOLVED}, "a {status} handoff cannot be resolved; claim it first"
        ),
        Action.HAND_BACK: Rule({RESOLVED: HANDED_BACK}, "a {status} handoff cannot be handed back"),
        Action.RETRY_HAND_BACK: Rule(
            {RESOLVED: RESOLVED}, "a {status} handoff has nothing to hand back"
        ),
        Action.ABANDON: Rule({QUEUED: ABANDONED}, "a {status} handoff cannot become abandoned"),
        Action.EXPIRE: Rule({QUEUED: EXPIRED}, "a {status} handoff cannot become expired"),
        Action.KEEP_WAITING: Rule({QUEUED: QUEUED}, "the handoff is no longer waiting"),
        Action.OFFER_CHOICE: Rule({QUEUED: QUEUED}, "the handoff is no longer waiting"),
        Action.RATE: Rule(
            {RESOLVED: RESOLVED, HANDED_BACK: HANDED_BACK},
            "a {status} handoff cannot be rated yet",
        ),
        Action.LEAVE_CALLBACK: Rule(
            {QUEUED: EXPIRED, EXPIRED: EXPIRED},
            "a {status} handoff does not take a callback message",
        ),
        Action.MARK_CALLBACK_DONE: Rule(
            {EXPIRED: EXPIRED},
            "handoff {handoff_id} has no callback to mark done (it is {status})",
        ),
    }
)


def sources(action: Action) -> list[HandoffStatus]:
    """The statuses `action` may start from."""
    return list(TABLE[action].moves)


def allows(action: Action, status: str | HandoffStatus) -> bool:
    """Whether `action` may start from `status`."""
    return status in TABLE[action].moves


def target(action: Action, status: str | HandoffStatus) -> HandoffStatus:
    """The status `action` leaves a handoff in that was `status`; `refused` if not allowed."""
    for source, move in TABLE[action].moves.items():
        if source == status:
            return move
    raise refused(action, status)


def require(action: Action, status: str | HandoffStatus, handoff_id: str = "") -> None:
    """Raise the action's refusal unless it may start from `status`."""
    if not allows(action, status):
        raise refused(action, status, handoff_id)


def refused(action: Action, status: str | HandoffStatus, handoff_id: str = "") -> Conflict:
    """The error reporting that `action` may not start from `status`."""
    rule = TABLE[action]
    word = status.value if isinstance(status, HandoffStatus) else status
    return rule.error(rule.refusal.format(status=word, handoff_id=handoff_id))
