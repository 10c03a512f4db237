"""domain.yml, actions/constants.py, the registered actions and the routing table agree.

Rasa relates these by name only; a typo in any of them fails at run time, in a conversation.
Names are checked against the domain as Rasa loads it, which adds its defaults (the
`nlu_fallback` intent, the `requested_slot` slot).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.slots import CategoricalSlot

from actions import constants
from actions.handoff.routing import HandoffRouter
from actions.journeys import JOURNEYS
from contract.handoff_context import Flow
from tests.actions.conftest import ROUTING_PATH, rasa_domain, registered_actions


def _slot(name: str) -> CategoricalSlot:
    slot = next(slot for slot in rasa_domain().slots if slot.name == name)
    assert isinstance(slot, CategoricalSlot)
    return slot


def _custom_actions(domain: Domain) -> set[str]:
    """The `actions:` of domain.yml (Rasa's `user_actions` also holds the responses)."""
    return set(domain.user_actions) - set(domain.responses)


# Where each kind of constant must be declared, by the prefix of its name.
_DECLARED_IN: dict[str, Callable[[Domain], set[str]]] = {
    "INTENT_": lambda domain: set(domain.intents),
    "ENTITY_": lambda domain: set(domain.entities),
    "FORM_": lambda domain: set(domain.form_names),
    "SLOT_": lambda domain: {slot.name for slot in domain.slots},
    "ACTION_": _custom_actions,
    "VALIDATE_": _custom_actions,
    "UTTER_": lambda domain: set(domain.responses),
    "ORDER_OUTCOME_": lambda _: set(_slot(constants.SLOT_ORDER_OUTCOME).values),
    "TROUBLESHOOTING_": lambda _: set(_slot(constants.SLOT_TROUBLESHOOTING_OUTCOME).values),
}
# Constants that are not domain names, checked elsewhere in this file.
_NOT_DOMAIN_NAMES = ("REASON_", "FLOW_", "REQUIRED_REASON_CODES")


def _string_constants() -> dict[str, str]:
    return {
        name: value
        for name, value in vars(constants).items()
        if name.isupper() and isinstance(value, str)
    }


def _kind(name: str) -> str | None:
    return next((prefix for prefix in _DECLARED_IN if name.startswith(prefix)), None)


def _domain_constants() -> list[tuple[str, str]]:
    return [(name, value) for name, value in _string_constants().items() if _kind(name)]


def test_every_constant_is_a_kind_this_test_checks() -> None:
    unchecked = [
        name
        for name in _string_constants()
        if _kind(name) is None and not name.startswith(_NOT_DOMAIN_NAMES)
    ]

    assert unchecked == [], "say in _DECLARED_IN where these must be declared"


@pytest.mark.parametrize(("name", "value"), _domain_constants())
def test_every_name_constant_is_declared_in_the_domain(name: str, value: str) -> None:
    kind = _kind(name)
    assert kind is not None

    declared = _DECLARED_IN[kind](rasa_domain())

    assert value in declared, f"constants.{name} = {value!r} is not in domain.yml"


def test_the_domain_lists_exactly_the_actions_the_server_registers() -> None:
    in_domain = _custom_actions(rasa_domain())
    served = set(registered_actions())

    assert sorted(in_domain - served) == [], "listed in domain.yml but no Action has the name"
    assert sorted(served - in_domain) == [], "registered by the action server but not in domain"


def test_every_form_has_its_validation_action() -> None:
    served = set(registered_actions())

    assert {f"validate_{form}" for form in rasa_domain().form_names} <= served


def test_every_reason_code_is_a_constant_and_required() -> None:
    reasons = {value for name, value in _string_constants().items() if name.startswith("REASON_")}

    assert reasons == set(constants.REQUIRED_REASON_CODES)


@pytest.mark.parametrize("reason_code", sorted(constants.REQUIRED_REASON_CODES))
def test_every_reason_code_is_routed_from_every_flow(reason_code: str) -> None:
    router = HandoffRouter.load(ROUTING_PATH, JOURNEYS)

    assert reason_code in router.reason_codes
    for flow in Flow:
        decision = router.route(reason_code, flow)
        assert decision.routing.queue
        assert decision.customer_label


def test_every_flow_constant_is_a_contract_flow() -> None:
    flows = {value for name, value in _string_constants().items() if name.startswith("FLOW_")}

    assert flows == {flow.value for flow in Flow}


def test_every_journey_marks_itself_with_names_of_the_domain() -> None:
    domain = rasa_domain()

    for journey in JOURNEYS:
        assert journey.forms <= set(domain.form_names), journey.flow
        assert journey.actions <= _custom_actions(domain), journey.flow
        assert journey.intents | set(journey.handoff_intents) <= set(domain.intents), journey.flow
