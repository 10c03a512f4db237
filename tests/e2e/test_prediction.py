"""The planned next-action prediction (`assistant.prediction`) gives exactly the prediction
Rasa's graph gives, on the project's trained model, for every state of every story and test
story, and skips the policies that cannot change it. (Rules are snippets, with placeholder
actions and "must not be set" slots: not states a conversation can be in.)"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from rasa.core.agent import Agent
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.training import load_data
from rasa.engine.constants import PLACEHOLDER_TRACKER
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    Event,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from assistant import prediction
from tests.e2e.environment import MODEL_PATH, PROJECT_ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def agent() -> Agent:
    if not MODEL_PATH.exists():
        pytest.fail(f"{MODEL_PATH} is missing: run `make train` first")
    return Agent.load(str(MODEL_PATH))


def _states(agent: Agent, resources: list[Path]) -> list[DialogueStateTracker]:
    """Every tracker a prediction is made on in the stories of `resources`: each story cut
    right before each of its actions."""
    domain = agent.processor.domain
    cuts = []
    for resource in resources:
        for story in load_data(str(resource), domain, augmentation_factor=0):
            events = list(story.events)
            for index, event in enumerate(events):
                if isinstance(event, ActionExecuted) and index > 0:
                    cuts.append(
                        DialogueStateTracker.from_events("states", events[:index], domain.slots)
                    )
    return cuts


def _wandering(agent: Agent, conversations: int, seed: int) -> list[DialogueStateTracker]:
    """States off the stories' paths: conversations of random intents, each followed by the
    actions Rasa's graph predicts (up to 4 in a row), cut before each prediction."""
    domain = agent.processor.domain
    rng = random.Random(seed)
    cuts = []
    for _ in range(conversations):
        events: list[Event] = [ActionExecuted("action_listen")]
        for _ in range(4):
            intent = rng.choice(domain.intents)
            events.append(UserUttered(intent, {"name": intent, "confidence": 1.0}))
            for _ in range(4):
                tracker = DialogueStateTracker.from_events("wandering", events, domain.slots)
                cuts.append(tracker)
                predicted = _graph(agent, tracker)
                action = domain.action_names_or_texts[predicted.max_confidence_index]
                events.append(ActionExecuted(action))
                if action == "action_listen":
                    break
    return cuts


def _graph(agent: Agent, tracker: DialogueStateTracker) -> PolicyPrediction:
    runner = agent.processor.graph_runner
    target = agent.processor.model_metadata.core_target
    return DaskGraphRunner.run(runner, inputs={PLACEHOLDER_TRACKER: tracker}, targets=[target])[
        target
    ]


def test_every_story_state_is_predicted_exactly_as_rasa_predicts_it(agent: Agent) -> None:
    runner = agent.processor.graph_runner
    plan = prediction.plan_of(runner, agent.processor.model_metadata.core_target)
    assert plan is not None
    # Highest priority first; only the rule policy is never skipped.
    assert [(policy.name, policy.outranked_by_certainty) for policy in plan.policies] == [
        ("run_RulePolicy1", False),
        ("run_MemoizationPolicy0", True),
        ("run_TEDPolicy2", True),
    ]

    trackers = _states(
        agent,
        [PROJECT_ROOT / "data" / "stories", *sorted((PROJECT_ROOT / "tests").glob("test_*.yml"))],
    )
    trackers += _wandering(agent, conversations=60, seed=13)
    assert len(trackers) > 1000
    ran: list[str] = []
    original = prediction.GraphNode.__call__

    def counting(node: prediction.GraphNode, *inputs: object) -> object:
        ran.append(node._node_name)
        return original(node, *inputs)

    skipped_ted = 0
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(prediction.GraphNode, "__call__", counting)
        for tracker in trackers:
            ran.clear()
            planned = plan.predict(tracker)
            skipped_ted += "run_TEDPolicy2" not in ran
            assert planned == _graph(agent, tracker), tracker.events
    # Both ways were taken many times: the stories' states are decided by a rule or a
    # memorised story (TED skipped), most wandering ones still need TED.
    assert skipped_ted > 500
    assert len(trackers) - skipped_ted > 500


def test_a_rejected_action_runs_every_policy_as_rasa_does(agent: Agent) -> None:
    domain = agent.processor.domain
    plan = prediction.plan_of(agent.processor.graph_runner, "select_prediction")
    assert plan is not None
    greeted = [
        ActionExecuted("action_listen"),
        UserUttered("hi", {"name": "greet", "confidence": 1.0}),
    ]
    plain = DialogueStateTracker.from_events("rejected", greeted, domain.slots)
    assert plan.predict(plain).max_confidence_index == domain.index_for_action("utter_greet")

    rejected = DialogueStateTracker.from_events(
        "rejected", [*greeted, ActionExecutionRejected("utter_greet")], domain.slots
    )
    planned = plan.predict(rejected)
    assert planned == _graph(agent, rejected)
    assert planned.probabilities[domain.index_for_action("utter_greet")] == 0.0


async def test_installed_the_server_predicts_through_the_plan(agent: Agent) -> None:
    from rasa.core.channels import CollectingOutputChannel, UserMessage

    original = DaskGraphRunner.run
    try:
        assert prediction.install_planned_prediction() is True
        assert prediction.install_planned_prediction() is True  # installed once
        assert DaskGraphRunner.run.__wrapped__ is original  # type: ignore[attr-defined]
        output = CollectingOutputChannel()
        await agent.handle_message(UserMessage("hi", output, "installed"))
        assert output.messages  # the greeting, predicted through the plan
    finally:
        DaskGraphRunner.run = original  # type: ignore[method-assign]
