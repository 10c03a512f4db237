"""Next-action prediction without the policies that cannot change it (Rasa 3.6).

Rasa predicts every next action by running every policy of the model (here: RulePolicy,
MemoizationPolicy, TEDPolicy) through its dask graph runner, then lets the ensemble pick the
best prediction: the highest confidence, ties going to the higher priority. On this project's
turns almost every action is a rule's, predicted with confidence 1.0: a greeting, the order
form, `action_order_status`, every `action_listen`. TED cannot beat that (its confidence is at
most 1.0 and its priority is lower), yet it still featurised the tracker and ran its
TensorFlow graph for each of them: a quarter of the Rasa server's CPU on an order-lookup turn.

`PredictionPlan.predict` runs the same graph nodes with the same inputs, policies in order of
priority, and stops as soon as no policy left can change the ensemble's pick:

- the best prediction so far (picked by the ensemble's own `_pick_best_policy`) has confidence
  1.0, the most any policy can give;
- every policy left has a lower priority, and is one known never to make a "no user" or an
  end-to-end prediction (the two flags that outrank confidence): MemoizationPolicy, and a
  TEDPolicy trained without end-to-end stories;
- the last action was not rejected (the ensemble then zeroes that action in every prediction).

The ensemble then combines the predictions made, exactly as it combines all of them, so the
result is the same `PolicyPrediction` (tested against Rasa's graph on every state of the
training stories and rules, `tests/e2e/test_prediction.py`). A model with another ensemble,
another policy, or graph hooks is run by Rasa's graph runner as before, as is every graph run
that is not a next-action prediction (NLU, training).

It is installed by the Rasa server's entry point (`python -m assistant`), not on import, and
only for the Rasa version it was written against.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import rasa
from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
from rasa.core.policies.memoization import AugmentedMemoizationPolicy, MemoizationPolicy
from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.constants import PLACEHOLDER_TRACKER
from rasa.engine.graph import GraphNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import TEXT

#: The Rasa release whose graph runner and ensemble this was written against.
PATCHED_RASA_VERSION: Final = "3.6.21"

#: The most confidence any policy gives an action.
CERTAIN: Final = 1.0

_PLANS: Final = "_assistant_prediction_plans"


@dataclass(frozen=True)
class PolicyNode:
    """One policy of the prediction graph."""

    name: str
    priority: int
    #: Never makes a "no user" or an end-to-end prediction, so it can only win on confidence.
    outranked_by_certainty: bool


@dataclass(frozen=True)
class PredictionPlan:
    """How one graph's ensemble node (`target`) is computed, policy by policy."""

    nodes: dict[str, GraphNode]
    target: str
    #: The policies the ensemble combines, highest priority first.
    policies: tuple[PolicyNode, ...]

    def predict(self, tracker: DialogueStateTracker) -> PolicyPrediction:
        """The ensemble's prediction for `tracker`, running only the policies that count."""
        run = _NodeRuns(self.nodes, tracker)
        made: dict[str, PolicyPrediction] = {}
        shortcut = not _last_action_rejected(tracker)
        for index, policy in enumerate(self.policies):
            if shortcut and made and _decided(made, self.policies[index:]):
                break
            made[policy.name] = run.output(policy.name)
        skipped = {policy.name for policy in self.policies} - made.keys()
        ensemble = self.nodes[self.target]
        arguments = {
            parameter: run.output(provider)
            for parameter, provider in ensemble._inputs.items()
            if provider not in skipped
        }
        prediction: PolicyPrediction = ensemble._fn(ensemble._component, **arguments)
        return prediction


class _NodeRuns:
    """The graph's node outputs for one prediction: each node runs at most once, when needed."""

    def __init__(self, nodes: dict[str, GraphNode], tracker: DialogueStateTracker) -> None:
        self._nodes = nodes
        self._outputs: dict[str, tuple[str, Any]] = {
            PLACEHOLDER_TRACKER: (PLACEHOLDER_TRACKER, tracker)
        }

    def output(self, name: str) -> Any:
        return self._named_output(name)[1]

    def _named_output(self, name: str) -> tuple[str, Any]:
        # Nodes take and give (node name, value) pairs, as Rasa's dask graph passes them.
        if name not in self._outputs:
            node = self._nodes[name]
            self._outputs[name] = node(
                *(self._named_output(need) for need in node._inputs.values())
            )
        return self._outputs[name]


def _decided(made: dict[str, PolicyPrediction], left: tuple[PolicyNode, ...]) -> bool:
    """Whether no policy `left` can change the ensemble's pick among the predictions `made`."""
    best = DefaultPolicyPredictionEnsemble._pick_best_policy(list(made.values()))
    return best.max_confidence >= CERTAIN and all(
        policy.outranked_by_certainty and policy.priority < best.policy_priority for policy in left
    )


def _last_action_rejected(tracker: DialogueStateTracker) -> bool:
    for event in reversed(tracker.events):
        if isinstance(event, (ActionExecutionRejected, ActionExecuted)):
            return isinstance(event, ActionExecutionRejected)
    return False


def _outranked_by_certainty(component: Any) -> bool:
    if type(component) is TEDPolicy:
        return TEXT not in component.fake_features  # trained without end-to-end stories
    # Exact types: RulePolicy is a MemoizationPolicy that makes both kinds of prediction.
    return type(component) in (MemoizationPolicy, AugmentedMemoizationPolicy)


def plan_of(runner: DaskGraphRunner, target: str) -> PredictionPlan | None:
    """The plan for `target` of `runner`'s graph, or None where the shortcut does not apply."""
    plans: dict[str, PredictionPlan | None] = runner.__dict__.setdefault(_PLANS, {})
    if target not in plans:
        plans[target] = _make_plan(runner, target)
    return plans[target]


def _make_plan(runner: DaskGraphRunner, target: str) -> PredictionPlan | None:
    nodes: dict[str, GraphNode] = runner._instantiated_nodes
    ensemble = nodes.get(target)
    if ensemble is None or type(ensemble._component) is not DefaultPolicyPredictionEnsemble:
        return None
    if any(node._hooks or node._component is None for node in nodes.values()):
        return None
    policies = []
    for provider in ensemble._inputs.values():
        component = nodes[provider]._component if provider in nodes else None
        if isinstance(component, Policy):
            policies.append(
                PolicyNode(provider, component.priority, _outranked_by_certainty(component))
            )
    policies.sort(key=lambda policy: -policy.priority)  # stable: ties keep the graph's order
    return PredictionPlan(nodes, target, tuple(policies))


def planned_run(original: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """`DaskGraphRunner.run` that takes a next-action prediction through its plan."""

    def run(
        self: DaskGraphRunner,
        inputs: dict[str, Any] | None = None,
        targets: list[str] | None = None,
    ) -> dict[str, Any]:
        if targets and len(targets) == 1 and inputs and list(inputs) == [PLACEHOLDER_TRACKER]:
            plan = plan_of(self, targets[0])
            if plan is not None:
                return {plan.target: plan.predict(inputs[PLACEHOLDER_TRACKER])}
        return original(self, inputs, targets)

    run.__wrapped__ = original  # type: ignore[attr-defined]
    return run


def install_planned_prediction() -> bool:
    """Installs `planned_run` if Rasa is the version it was written for."""
    if rasa.__version__ != PATCHED_RASA_VERSION:
        return False
    if not hasattr(DaskGraphRunner.run, "__wrapped__"):
        DaskGraphRunner.run = planned_run(DaskGraphRunner.run)
    return True
