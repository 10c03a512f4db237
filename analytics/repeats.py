"""The repeat detector (docs/metrics.md, "Repeat rate"): after a handoff, a customer saying
again a value the context already carried, or an agent asking for one.

Pure: `known_values` reads what the context carried (its slots and customer name);
`find_repeats` reads the turns after the handoff was queued. No text is kept: a `Repeat` names
the field, the turn's index and whether the customer restated it or an agent asked for it.
The build and the report (per journey and field, with examples) come next (issue 12).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

#: Speakers of a transcript turn (contract.handoff_context.Speaker values).
CUSTOMER: Final = "customer"
AGENT: Final = "agent"

ORDER_NUMBER: Final = "order_number"
ERROR_CODE: Final = "error_code"
EMAIL: Final = "email"
NAME: Final = "name"
AMOUNT: Final = "amount"
REFERENCE: Final = "reference"

#: Context slots holding each field (the bot's slot names).
AMOUNT_SLOTS: Final = ("property_value", "loan_amount", "deposit_amount", "annual_income")
#: Amounts below this are never compared: "1" or "2" answers are not amounts.
SMALLEST_AMOUNT: Final = 100.0

_ORDER = re.compile(r"\bORD[\s-]?(\d{6})\b", re.IGNORECASE)
_ERROR = re.compile(r"\bE[\s-]?(\d{4})\b", re.IGNORECASE)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_REFERENCE = re.compile(r"\bMTG[\s-]?([A-Z0-9]{5})\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_WORD = re.compile(r"[^\W\d_]{2,}")

#: What an agent asking for a field says (a phrase of the field, in a question or a request).
_ASKS: Final[Mapping[str, re.Pattern[str]]] = {
    ORDER_NUMBER: re.compile(r"\border (?:number|no\.?|id|reference)\b", re.IGNORECASE),
    ERROR_CODE: re.compile(r"\b(?:error|fault) code\b", re.IGNORECASE),
    EMAIL: re.compile(r"\be-?mail(?: address)?\b", re.IGNORECASE),
    NAME: re.compile(r"\b(?:your|full) name\b", re.IGNORECASE),
    AMOUNT: re.compile(
        r"\b(?:property value|loan amount|deposit|income|how much)\b", re.IGNORECASE
    ),
    REFERENCE: re.compile(r"\b(?:application )?reference\b", re.IGNORECASE),
}
_REQUEST = re.compile(
    r"\?|\b(?:could|can|would) you\b|\bplease (?:give|tell|confirm|provide|share|send)\b"
    r"|\bwhat(?:'s| is)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Repeat:
    """One repeat: the field, the transcript turn (index in the turns given) and its kind:
    "restated" (the customer) or "asked" (an agent)."""

    field: str
    turn: int
    kind: str


def known_values(context: Mapping[str, Any]) -> dict[str, set[str]]:
    """The normalised values the context carried, per field (fields it lacked are absent)."""
    slots = context.get("slots") if isinstance(context.get("slots"), Mapping) else {}
    assert isinstance(slots, Mapping)
    known: dict[str, set[str]] = {}

    def add(field: str, values: Iterable[str]) -> None:
        found = {v for v in values if v}
        if found:
            known.setdefault(field, set()).update(found)

    add(ORDER_NUMBER, _all(_ORDER, slots.get("order_number")))
    add(ERROR_CODE, _all(_ERROR, slots.get("error_code")))
    add(EMAIL, _emails(slots.get("email")))
    add(REFERENCE, _all(_REFERENCE, slots.get("application_reference")))
    add(AMOUNT, (_amount(slots.get(slot)) for slot in AMOUNT_SLOTS))
    for name in (context.get("customer_name"), slots.get("applicant_name")):
        add(NAME, _words(name))
    return known


def find_repeats(known: Mapping[str, set[str]], turns: Sequence[Mapping[str, Any]]) -> list[Repeat]:
    """The repeats in `turns` (the transcript after the handoff was queued, oldest first, each
    with `speaker` and `text`). An agent quoting a value back asks for nothing; a customer's
    answer to an agent's request for the field counts once, as the request."""
    repeats: list[Repeat] = []
    awaiting: set[str] = set()
    for index, turn in enumerate(turns):
        text = turn.get("text")
        if not isinstance(text, str) or not text:
            continue
        speaker = turn.get("speaker")
        if speaker == AGENT:
            for field in _asked_for(text, known):
                repeats.append(Repeat(field, index, "asked"))
                awaiting.add(field)
        elif speaker == CUSTOMER:
            for field, values in known.items():
                if _restates(field, text, values):
                    if field in awaiting:
                        awaiting.discard(field)
                    else:
                        repeats.append(Repeat(field, index, "restated"))
    return repeats


def _asked_for(text: str, known: Mapping[str, set[str]]) -> list[str]:
    if not _REQUEST.search(text):
        return []
    # A field the context lacked is a missing field, not a repeat, even when asked for.
    return [
        field
        for field, ask in _ASKS.items()
        if known.get(field) and ask.search(text) and not _restates(field, text, known[field])
    ]


def _restates(field: str, text: str, values: set[str]) -> bool:
    if not values:
        return False
    return bool(_EXTRACT[field](text) & values)


def _all(pattern: re.Pattern[str], value: Any) -> set[str]:
    return {m.upper() for m in pattern.findall(value)} if isinstance(value, str) else set()


def _emails(value: Any) -> set[str]:
    return {m.casefold() for m in _EMAIL.findall(value)} if isinstance(value, str) else set()


def _words(value: Any) -> set[str]:
    return {w.casefold() for w in _WORD.findall(value)} if isinstance(value, str) else set()


def _amount(value: Any) -> str:
    if isinstance(value, bool):
        return ""
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.replace(",", "").replace("£", "").replace("$", "").strip())
        except ValueError:
            return ""
    else:
        return ""
    return f"{number:.2f}" if number >= SMALLEST_AMOUNT else ""


def _amounts(text: str) -> set[str]:
    return {a for a in (_amount(m) for m in _NUMBER.findall(text)) if a}


_EXTRACT: Final[Mapping[str, Callable[[str], set[str]]]] = {
    ORDER_NUMBER: lambda text: _all(_ORDER, text),
    ERROR_CODE: lambda text: _all(_ERROR, text),
    EMAIL: _emails,
    # A name inside an e-mail address is the address, not the name said again.
    NAME: lambda text: _words(_EMAIL.sub(" ", text)),
    AMOUNT: _amounts,
    REFERENCE: lambda text: _all(_REFERENCE, text),
}
