"""The repeat detector (docs/metrics.md, "Repeat rate"): after a handoff, a customer saying
again a value the context already carried, or an agent asking for one.

Pure: `known_values` reads what the context carried (its slots and customer name);
`find_repeats` reads the turns after the handoff was queued. No text is kept: a `Repeat` names
the field, the turn's index and whether the customer restated it or an agent asked for it.

The analytics fold reads a conversation one event at a time and keeps no customer data: it
uses `RepeatWatch`, the same detector turn by turn, over keyed values (`value_key`, a salted
digest) that live in the fold's state between builds instead of the values themselves.
"""

from __future__ import annotations

import hashlib
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
#: The field each slot the detector reads holds.
SLOT_FIELDS: Final[Mapping[str, str]] = {
    "order_number": ORDER_NUMBER,
    "error_code": ERROR_CODE,
    "email": EMAIL,
    "application_reference": REFERENCE,
    "applicant_name": NAME,
    **{slot: AMOUNT for slot in AMOUNT_SLOTS},
}
RESTATED: Final = "restated"
ASKED: Final = "asked"
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


def slot_values(slot: str, value: Any) -> set[str]:
    """The normalised values a slot the detector reads holds (empty for any other slot)."""
    field = SLOT_FIELDS.get(slot)
    if field is None:
        return set()
    if field == AMOUNT:
        return {amount} if (amount := _amount(value)) else set()
    if field == EMAIL:
        return _emails(value)
    if field == NAME:
        return _words(value)
    return _all(
        _ORDER if field == ORDER_NUMBER else _ERROR if field == ERROR_CODE else _REFERENCE, value
    )


def known_values(context: Mapping[str, Any]) -> dict[str, set[str]]:
    """The normalised values the context carried, per field (fields it lacked are absent)."""
    slots = context.get("slots") if isinstance(context.get("slots"), Mapping) else {}
    assert isinstance(slots, Mapping)
    known: dict[str, set[str]] = {}
    for slot, field in SLOT_FIELDS.items():
        found = slot_values(slot, slots.get(slot))
        if found:
            known.setdefault(field, set()).update(found)
    if names := _words(context.get("customer_name")):
        known.setdefault(NAME, set()).update(names)
    return known


def value_key(value: str) -> str:
    """What the fold keeps of a normalised value: a digest that matches only the same value."""
    return hashlib.blake2b(value.encode(), digest_size=8, person=b"repeat-rate").hexdigest()


class RepeatWatch:
    """The detector turn by turn, over `state` (JSON-able; kept by the caller between turns):
    the keys of the values known per field and the fields an agent asked for and the customer
    has not answered yet.

    Args:
        state: `{"known": {field: [key, ...]}, "awaiting": [field, ...]}`.
        key: Maps a normalised value to its key (`value_key` in the fold, identity in tests).
    """

    def __init__(self, state: dict[str, Any], key: Callable[[str], str] = value_key) -> None:
        self.state = state
        self.key = key
        state.setdefault("known", {})
        state.setdefault("awaiting", [])

    @classmethod
    def start(
        cls, known: Mapping[str, Iterable[str]], key: Callable[[str], str] = value_key
    ) -> RepeatWatch:
        """A watch over `known` normalised values (kept as keys)."""
        state = {"known": {f: sorted({key(v) for v in vs}) for f, vs in known.items() if vs}}
        return cls(state, key)

    def known(self, field: str) -> bool:
        """Whether the context carried `field`."""
        return bool(self.state["known"].get(field))

    def customer(self, text: str) -> list[str]:
        """The fields a customer message restates (answering an agent's request is not)."""
        restated = []
        awaiting: list[str] = self.state["awaiting"]
        for field, keys in self.state["known"].items():
            if self._restates(field, text, keys):
                if field in awaiting:
                    awaiting.remove(field)
                else:
                    restated.append(field)
        return restated

    def agent(self, text: str) -> tuple[list[str], list[str]]:
        """The fields an agent message asks for: (those the context carried, those it lacked).
        Quoting a carried value back asks for nothing."""
        if not _REQUEST.search(text):
            return [], []
        carried, missing = [], []
        for field, ask in _ASKS.items():
            if not ask.search(text):
                continue
            keys = self.state["known"].get(field)
            if not keys:
                missing.append(field)
            elif not self._restates(field, text, keys):
                carried.append(field)
                if field not in self.state["awaiting"]:
                    self.state["awaiting"].append(field)
        return carried, missing

    def _restates(self, field: str, text: str, keys: Sequence[str]) -> bool:
        return bool({self.key(v) for v in _EXTRACT[field](text)} & set(keys))


def find_repeats(known: Mapping[str, set[str]], turns: Sequence[Mapping[str, Any]]) -> list[Repeat]:
    """The repeats in `turns` (the transcript after the handoff was queued, oldest first, each
    with `speaker` and `text`). An agent quoting a value back asks for nothing; a customer's
    answer to an agent's request for the field counts once, as the request. A field the
    context lacked is a missing field, not a repeat, even when asked for."""
    watch = RepeatWatch.start(known, key=str)
    repeats: list[Repeat] = []
    for index, turn in enumerate(turns):
        text = turn.get("text")
        if not isinstance(text, str) or not text:
            continue
        speaker = turn.get("speaker")
        if speaker == AGENT:
            repeats += [Repeat(field, index, ASKED) for field in watch.agent(text)[0]]
        elif speaker == CUSTOMER:
            repeats += [Repeat(field, index, RESTATED) for field in watch.customer(text)]
    return repeats


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
