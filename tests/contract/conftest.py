"""Fixtures for the contract tests: the real routing table and the golden conversation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from actions.handoff.routing import HandoffRouter
from actions.journeys import JOURNEYS
from contract.handoff_context import HandoffContext
from tests.support.handoff_examples import GOLDEN_PATH, ROUTING_PATH, order_delayed_context


@pytest.fixture
def router() -> HandoffRouter:
    """The routing table the bot ships with."""
    return HandoffRouter.load(ROUTING_PATH, JOURNEYS)


@pytest.fixture
def golden_context(router: HandoffRouter) -> HandoffContext:
    """The order_delayed context, built by the builder with a fixed id and time."""
    return order_delayed_context(router)


@pytest.fixture
def golden_payload() -> dict[str, Any]:
    """The committed golden example, decoded."""
    payload: dict[str, Any] = json.loads(GOLDEN_PATH.read_text(encoding="utf-8"))
    return payload
