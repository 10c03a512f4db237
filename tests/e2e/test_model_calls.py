"""The direct calls of the trained model's graphs (`assistant.performance`) give exactly what
Rasa's own calls give, on the project's trained model and real turns."""

from __future__ import annotations

import asyncio
import uuid
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


def test_direct_model_calls_predict_exactly_as_rasa(monkeypatch: pytest.MonkeyPatch) -> None:
    if not MODEL_PATH.exists():
        pytest.fail(f"{MODEL_PATH} is missing: run `make train` first")
    calls: list[tuple[RasaModel, Any]] = []
    rasa_predict = RasaModel._rasa_predict

    def recording(self: RasaModel, batch_in: Any) -> dict[str, Any]:
        calls.append((self, batch_in))
        return rasa_predict(self, batch_in)

    monkeypatch.setattr(RasaModel, "_rasa_predict", recording)
    agent = Agent.load(str(MODEL_PATH))

    async def talk() -> None:
        for text in MESSAGES:
            sender = uuid.uuid4().hex
            await agent.handle_message(UserMessage(text, CollectingOutputChannel(), sender))

    asyncio.run(talk())
    models = {type(model).__name__ for model, _ in calls}
    assert models == {"DIET", "TED"}  # every graph of the model was called

    for model, batch_in in calls:
        direct = performance.direct_rasa_predict(model, batch_in)
        assert _same(rasa_predict(model, batch_in), direct)

    # Installed, Rasa's own turns take the direct path.
    monkeypatch.setattr(RasaModel, "_rasa_predict", rasa_predict)
    assert performance.install_direct_model_calls() is True
    try:
        asyncio.run(talk())
        direct = {type(m).__name__ for m, _ in calls if performance._DIRECT_PREDICT in m.__dict__}
        assert direct == {"DIET", "TED"}
    finally:
        RasaModel._rasa_predict = rasa_predict


def test_a_batch_of_another_shape_is_refused_with_a_message() -> None:
    agent = Agent.load(str(MODEL_PATH))
    seen: list[tuple[RasaModel, Any]] = []
    rasa_predict = RasaModel._rasa_predict

    def recording(self: RasaModel, batch_in: Any) -> dict[str, Any]:
        seen.append((self, batch_in))
        return performance.direct_rasa_predict(self, batch_in)

    RasaModel._rasa_predict = recording
    try:
        asyncio.run(agent.handle_message(UserMessage("hi", CollectingOutputChannel(), "s1")))
    finally:
        RasaModel._rasa_predict = rasa_predict
    model, batch_in = seen[0]
    with pytest.raises(ValueError, match="expected a batch of"):
        performance.direct_rasa_predict(model, tuple(batch_in)[:-1])
