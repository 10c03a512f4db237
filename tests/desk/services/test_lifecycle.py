"""The transition table of a handoff's status (`desk.services.lifecycle`)."""

from __future__ import annotations

import pytest

from contract.handoff_status import HandoffStatus
from desk.services import lifecycle
from desk.services.errors import AlreadyClaimed, Conflict
from desk.services.lifecycle import TABLE, Action

EVERY_MOVE = [(action, status) for action in Action for status in HandoffStatus]


def test_the_lifecycle_of_a_handoff() -> None:
    moves = {
        (action.value, source.value, target.value)
        for action, rule in TABLE.items()
        for source, target in rule.moves.items()
        if source != target
    }

    assert moves == {
        ("claim", "queued", "claimed"),
        ("transfer", "claimed", "queued"),
        ("resolve", "claimed", "resolved"),
        ("hand_back", "resolved", "handed_back"),
        ("abandon", "queued", "abandoned"),
        ("expire", "queued", "expired"),
        ("leave_callback", "queued", "expired"),
    }


def test_every_action_has_a_rule() -> None:
    assert set(TABLE) == set(Action)


@pytest.mark.parametrize(("action", "status"), EVERY_MOVE)
def test_every_illegal_transition_is_refused(action: Action, status: HandoffStatus) -> None:
    allowed = status in TABLE[action].moves

    assert lifecycle.allows(action, status.value) is allowed
    if allowed:
        lifecycle.require(action, status.value)
        assert lifecycle.target(action, status.value) is TABLE[action].moves[status]
        return
    with pytest.raises(Conflict) as refused:
        lifecycle.require(action, status.value, "h-1")
    with pytest.raises(Conflict):
        lifecycle.target(action, status.value)
    assert status.value in str(refused.value) or "no longer waiting" in str(refused.value)


@pytest.mark.parametrize(
    ("action", "status", "message", "error"),
    [
        (
            Action.CLAIM,
            "claimed",
            "handoff h-1 is no longer waiting (it is claimed)",
            AlreadyClaimed,
        ),
        (Action.TRANSFER, "resolved", "a resolved handoff cannot be transferred", Conflict),
        (Action.ANSWER, "queued", "a queued handoff cannot be answered; claim it first", Conflict),
        (Action.RESOLVE, "queued", "a queued handoff cannot be resolved; claim it first", Conflict),
        (Action.HAND_BACK, "claimed", "a claimed handoff cannot be handed back", Conflict),
        (Action.RETRY_HAND_BACK, "claimed", "a claimed handoff has nothing to hand back", Conflict),
        (Action.ABANDON, "claimed", "a claimed handoff cannot become abandoned", Conflict),
        (Action.EXPIRE, "claimed", "a claimed handoff cannot become expired", Conflict),
        (Action.KEEP_WAITING, "claimed", "the handoff is no longer waiting", Conflict),
        (Action.RATE, "queued", "a queued handoff cannot be rated yet", Conflict),
        (
            Action.LEAVE_CALLBACK,
            "claimed",
            "a claimed handoff does not take a callback message",
            Conflict,
        ),
        (
            Action.MARK_CALLBACK_DONE,
            "queued",
            "handoff h-1 has no callback to mark done (it is queued)",
            Conflict,
        ),
    ],
)
def test_a_refusal_says_what_the_api_always_said(
    action: Action, status: str, message: str, error: type[Conflict]
) -> None:
    refused = lifecycle.refused(action, status, "h-1")

    assert type(refused) is error and refused.message == message
