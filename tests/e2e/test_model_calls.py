"""The direct calls of the trained model's graphs and the quick model load
(`assistant.performance`) give exactly what Rasa's own give, on the project's trained model and
real turns."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from rasa.core.agent import Agent
from rasa.core.channels import CollectingOutputChannel, UserMessage
from rasa.utils.tensorflow.models import RasaModel

from assistant import performance
from tests.e2e.environment import MODEL_PATH

pytestmark = pytest.mark.e2e

MESSAGES = [
    "hi",
    "where is my order ORD-100002?",
    "I keep getting E-1042",
    "I want to apply for a mortgage",
    "agent",
    "thanks, bye",
]


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if left is None or right is None:
        return left is right
    return bool(np.array_equal(np.asarray(left), np.asarray(right)))


@dataclass(frozen=True)
class Recorded:
    """The trained model, loaded once, and every call of its graphs in the talk below (each
    graph and the batch it was given), made through Rasa's own `_rasa_predict`."""

    agent: Agent
    calls: list[tuple[RasaModel, Any]]


def talk(agent: Agent) -> None:
    async def each_message() -> None:
        for text in MESSAGES:
            sender = uuid.uuid4().hex
            await agent.handle_message(UserMessage(text, CollectingOutputChannel(), sender))

    asyncio.run(each_message())


@pytest.fixture(scope="module")
def recorded() -> Iterator[Recorded]:
    if not MODEL_PATH.exists():
        pytest.fail(f"{MODEL_PATH} is missing: run `make train` first")
    calls: list[tuple[RasaModel, Any]] = []
    rasa_predict = RasaModel._rasa_predict

    def recording(self: RasaModel, batch_in: Any) -> dict[str, Any]:
        calls.append((self, batch_in))
        return rasa_predict(self, batch_in)

    RasaModel._rasa_predict = recording  # type: ignore[method-assign]
    try:
        agent = Agent.load(str(MODEL_PATH))
        talk(agent)
    finally:
        RasaModel._rasa_predict = rasa_predict  # type: ignore[method-assign]
    yield Recorded(agent, calls)
    for model, _ in calls:
        model.__dict__.pop(performance._DIRECT_PREDICT, None)


def test_direct_model_calls_predict_exactly_as_rasa(recorded: Recorded) -> None:
    models = {type(model).__name__ for model, _ in recorded.calls}
    assert models == {"DIET", "TED"}  # every graph of the model was called

    for model, batch_in in recorded.calls:
        direct = performance.direct_rasa_predict(model, batch_in)
        assert _same(RasaModel._rasa_predict(model, batch_in), direct)

    # Installed, Rasa's own turns take the direct path (which builds each graph's call anew).
    graphs = {model for model, _ in recorded.calls}
    for model in graphs:
        del model.__dict__[performance._DIRECT_PREDICT]
    rasa_predict = RasaModel._rasa_predict
    assert performance.install_direct_model_calls() is True
    try:
        talk(recorded.agent)
        direct = {type(m).__name__ for m in graphs if performance._DIRECT_PREDICT in m.__dict__}
        assert direct == {"DIET", "TED"}
    finally:
        RasaModel._rasa_predict = rasa_predict  # type: ignore[method-assign]


def test_a_batch_of_another_shape_is_refused_with_a_message(recorded: Recorded) -> None:
    model, batch_in = recorded.calls[0]
    with pytest.raises(ValueError, match="expected a batch of"):
        performance.direct_rasa_predict(model, tuple(batch_in)[:-1])


def test_the_quick_load_gives_the_same_model(
    recorded: Recorded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loaded with its weights built eagerly (no training step traced), each graph has the
    same weights and predicts exactly what Rasa's own `RasaModel.load` gives."""
    monkeypatch.setattr(RasaModel, "load", RasaModel.load)
    assert performance.install_quick_model_load() is True
    quick = Agent.load(str(MODEL_PATH))
    graphs = {type(model).__name__: model for model, _ in recorded.calls}
    twins = {type(model).__name__: model for model in _models_of(quick)}
    assert twins.keys() == graphs.keys() == {"DIET", "TED"}

    for model, batch_in in recorded.calls:
        twin = twins[type(model).__name__]
        assert _same(
            RasaModel._rasa_predict(model, batch_in), RasaModel._rasa_predict(twin, batch_in)
        )
    # After the predictions: a sparse layer zeroes its masked weights on every call
    # (`RandomlyConnectedDense`), so both models have been called alike.
    for name, model in graphs.items():
        weights, twin_weights = model.get_weights(), twins[name].get_weights()
        assert len(weights) == len(twin_weights) > 0
        differing = [
            weight.name
            for weight, a, b in zip(model.weights, weights, twin_weights, strict=True)
            if not _same(a, b)
        ]
        assert differing == []


def _models_of(agent: Agent) -> list[RasaModel]:
    """The TensorFlow models of the agent's graph components (DIET's and TED's)."""
    runner = agent.processor.graph_runner  # type: ignore[union-attr]
    components = [node._component for node in runner._instantiated_nodes.values()]
    return [c.model for c in components if isinstance(getattr(c, "model", None), RasaModel)]
