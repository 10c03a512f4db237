"""The analytics recognise a journey exactly as the handoff does: every form, action and
intent a journey's descriptor names is among the contract's marks for that journey."""

from __future__ import annotations

from actions.journeys import JOURNEYS
from contract.conversation_marks import JOURNEY_MARKS


def test_every_journey_has_marks_covering_its_descriptor() -> None:
    assert set(JOURNEY_MARKS) == set(JOURNEYS.flows)
    for journey in JOURNEYS:
        marks = JOURNEY_MARKS[journey.flow]
        assert journey.forms <= marks.forms, journey.flow
        assert journey.actions <= marks.actions, journey.flow
        assert journey.intents <= marks.intents, journey.flow


def test_the_marks_name_only_what_the_domain_knows() -> None:
    import yaml

    with open("domain.yml", encoding="utf-8") as file:
        domain = yaml.safe_load(file)
    intents = set(domain["intents"])
    forms = set(domain["forms"])
    actions = set(domain["actions"])
    for marks in JOURNEY_MARKS.values():
        assert marks.intents <= intents, marks.flow
        assert marks.forms <= forms, marks.flow
        assert marks.actions <= actions, marks.flow
