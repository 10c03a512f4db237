"""The direct calls of the trained model's graphs (`assistant.performance`) give exactly what
Rasa's own calls give, on the project's trained model and real turns."""

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
