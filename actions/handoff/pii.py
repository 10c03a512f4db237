"""Personal data in handoff contexts and logs: where it is, and how to mask it.

`pii_paths` names the fields of a context that hold personal data (the desk uses the list to
restrict and expire them); `mask_payload` masks those fields in a copy, for logs and debugging;
masking log records is `logsupport.masking`'s (shared with the Rasa server and the desk).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any, Final

from actions.handoff.journey import JourneyRegistry
from contract.handoff_context import HandoffContext, Speaker
from logsupport.masking import EMAIL_PATTERN, mask_email

# Which slots and evidence fields hold personal data is declared by each journey
# (`Journey.personal_slots`, `Journey.personal_evidence`); what is personal in the rest of the
# context (the transcript, the answers to attempts, the name, the summary) is known here.
ANY_INDEX: Final = "*"


def pii_paths(context: HandoffContext, journeys: JourneyRegistry) -> list[str]:
    """JSON Pointers of the fields of `context` that hold personal data, in document order.

    Only fields that are actually filled in this context are listed. `*` stands for any array
    index. The context's own `pii` field is ignored (this is what computes it).
    """
    paths = [_pointer("customer_name")] if context.customer_name else []
    paths += [_pointer("slots", slot) for slot in journeys.personal_slots if slot in context.slots]
    paths += _transcript_paths(context)
    if any(attempt.answer is not None for attempt in context.attempts):
        paths.append(_pointer("attempts", ANY_INDEX, "answer"))
    paths += [
        _pointer("evidence", *tokens)
        for tokens in journeys.personal_evidence_paths(context.evidence)
    ]
    paths += _evidence_view_paths(context)
    if _mentions_customer(context):
        paths.append(_pointer("summary"))
    return paths


def _transcript_paths(context: HandoffContext) -> list[str]:
    # Every turn's text, not only the customer's: the bot and agents echo names and addresses.
    paths = []
    if any(turn.text for turn in context.transcript):
        paths.append(_pointer("transcript", ANY_INDEX, "text"))
    if any(turn.speaker == Speaker.AGENT and turn.agent_name for turn in context.transcript):
        paths.append(_pointer("transcript", ANY_INDEX, "agent_name"))
    return paths


def _evidence_view_paths(context: HandoffContext) -> list[str]:
    paths = []
    for s, section in enumerate(context.evidence_view):
        paths += [
            _pointer("evidence_view", str(s), "fields", str(f), "value")
            for f, shown in enumerate(section.fields)
            if shown.personal and shown.value not in (None, "")
        ]
        for t, table in enumerate(section.tables):
            paths += [
                _pointer("evidence_view", str(s), "tables", str(t), "rows", ANY_INDEX, str(c))
                for c in table.personal_columns
                if any(c < len(row) and row[c] not in (None, "") for row in table.rows)
            ]
    return paths


def _mentions_customer(context: HandoffContext) -> bool:
    # The summary names the customer exactly when it knows a name (see summary.py); checking
    # for the name in the text would miss one the summary had to shorten.
    return bool(context.summary) and context.customer_name is not None


def _pointer(*tokens: str) -> str:
    return "".join("/" + token.replace("~", "~0").replace("/", "~1") for token in tokens)


# --- Masking payloads ---------------------------------------------------------------------------


def mask_payload(payload: dict[str, Any], paths: Iterable[str]) -> dict[str, Any]:
    """A deep copy of `payload` with the values at `paths` masked; paths that are absent are
    skipped. Masked values keep a hint: "j***@e***.com", "J*** S***", "[redacted 42 chars]".
    """
    masked = copy.deepcopy(payload)
    for path in paths:
        _mask_at(masked, _tokens(path))
    return masked


def mask_value(value: Any, key: str = "") -> Any:
    """Mask one value; `key` (the field name) tells names apart from other text."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: mask_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(item, key) for item in value]
    if isinstance(value, str):
        if EMAIL_PATTERN.fullmatch(value.strip()):
            return mask_email(value.strip())
        if "name" in key:
            return mask_name(value)
        return f"[redacted {len(value)} chars]"
    return "[redacted]"


def mask_name(name: str) -> str:
    """ "Jane Smith" -> "J*** S***"."""
    return " ".join(part[:1] + "***" for part in name.split()) or "***"


def _tokens(path: str) -> list[str]:
    if not path.startswith("/"):
        raise ValueError(f"not a JSON Pointer: {path!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]


def _mask_at(node: Any, tokens: list[str]) -> None:
    head, rest = tokens[0], tokens[1:]
    for key, child in _children(node, head):
        if rest:
            _mask_at(child, rest)
        else:
            node[key] = mask_value(child, str(key) if isinstance(node, dict) else head)


def _children(node: Any, token: str) -> list[tuple[Any, Any]]:
    if isinstance(node, dict):
        return [(token, node[token])] if token in node else []
    if isinstance(node, list):
        if token == ANY_INDEX:
            return list(enumerate(node))
        if token.isdigit() and int(token) < len(node):
            return [(int(token), node[int(token)])]
    return []
