"""Understanding real customers, on the trained model: every phrasing of the held-out set
(evaluation/phrasings.yml, never trained on) is the first message of a new chat on the running
system, and what the bot did is compared with the behaviour expected (evaluation/behaviour.py).

`make test` fails on any misroute (a journey other than the expected one, or a handoff to
another team's queue), on any non-mortgage phrasing reaching the mortgage advisors, and on a
behaviour accuracy under 95%. `make eval` gives the same figures with the NLU cross-validation.
"""

from __future__ import annotations

import pytest

from evaluation.__main__ import REQUIRED_ACCURACY
from evaluation.behaviour import Report, evaluate, expected_queue, load_phrasings
from tests.e2e.client import BotClient

pytestmark = pytest.mark.e2e

MORTGAGE_QUEUE = "mortgage_advisors"


@pytest.fixture(scope="module")
def report(bot: BotClient) -> Report:
    return evaluate(load_phrasings(), bot.say, bot.tracker, bot.recorded_handoffs)


def test_no_phrasing_is_misrouted(report: Report) -> None:
    assert report.misroutes == [], report.as_markdown()


def test_no_non_mortgage_phrasing_reaches_the_mortgage_advisors(report: Report) -> None:
    wrong = [
        outcome.phrasing
        for outcome in report.reached_queue(MORTGAGE_QUEUE)
        if expected_queue(outcome.phrasing.expect) != MORTGAGE_QUEUE
    ]
    assert wrong == [], report.as_markdown()


def test_behaviour_accuracy_on_the_held_out_set_is_at_least_95_percent(report: Report) -> None:
    assert len(report.outcomes) >= 300
    assert report.accuracy >= REQUIRED_ACCURACY, report.as_markdown()
