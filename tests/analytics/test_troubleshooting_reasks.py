"""A troubleshooting step answered is not a question asked again: the form asks `step_answer`
once per step, so only an answer it refused (no new attempt recorded) counts as a re-ask.

The events are in the order the troubleshooting form writes them (seen in Rasa's tracker):
the customer's answer, the attempts list with the new attempt, then `requested_slot` again.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from analytics.conversations import Conversation, ConversationFold, FailureKind
from analytics.tracker import ACTIVE_LOOP, SLOT, USER, TrackerEvent

T0 = datetime(2026, 11, 10, 9, 0, tzinfo=timezone.utc)


class History:
    """Feeds one sender's events to a fold, one second apart."""

    def __init__(self) -> None:
        self.fold = ConversationFold(ZoneInfo("Europe/London"))
        self.conversation: Conversation | None = None
        self.count = 0

    def _feed(self, kind: str, name: str | None, value: Any = None) -> None:
        self.count += 1
        at = T0 + timedelta(seconds=self.count)
        event = TrackerEvent(self.count, "customer", kind, at, name=name, value=value)
        self.conversation = self.fold.feed(self.conversation, event)

    def user(self, intent: str) -> None:
        self._feed(USER, intent)

    def loop(self, form: str) -> None:
        self._feed(ACTIVE_LOOP, form)

    def slot(self, name: str, value: Any) -> None:
        self._feed(SLOT, name, value)

    def failures(self, kind: str) -> list[str]:
        return [f.subject for f in self.fold.failures if f.kind == kind]


def attempt(label: str, outcome: str = "not_resolved") -> dict[str, str]:
    return {"kind": "troubleshooting_step", "label": label, "outcome": outcome}


def test_each_step_answered_is_a_new_question_and_a_refused_answer_is_asked_again() -> None:
    history = History()
    history.user("report_error_code")
    history.loop("troubleshooting_form")
    history.slot("troubleshooting_tree", "E-1042")
    history.slot("requested_slot", "step_answer")
    history.user("deny")  # step 1 did not help: the form moves on to step 2
    history.slot("troubleshooting_attempts", [attempt("check_dsl_cable")])
    history.slot("requested_slot", "step_answer")
    history.user("out_of_scope")  # not an answer: step 2 is asked again
    history.slot("requested_slot", "step_answer")
    history.user("deny")  # step 2 did not help either
    history.slot(
        "troubleshooting_attempts", [attempt("check_dsl_cable"), attempt("remove_extensions")]
    )
    history.slot("requested_slot", "step_answer")

    assert history.failures(FailureKind.REASK) == ["troubleshooting_form/step_answer"]
    assert history.failures(FailureKind.STEP) == [
        "E-1042/check_dsl_cable",
        "E-1042/remove_extensions",
    ]
