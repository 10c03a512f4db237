"""A speed fix for Rasa 3.6's handling of action-server responses.

Rasa 3.6 checks every action server response with `jsonschema.validate(result, spec)`. With
the jsonschema release Rasa pins (<4.18), that call first re-checks the spec against the JSON
Schema meta-schema and builds a new validator, every time: 9.7 ms per custom action call on a
2-core machine, 41% of the Rasa server's CPU on an order-lookup turn (two action calls). The
validator built once below checks the same schema with the same rules and raises the same
`ValidationError` (with the same extended message), in about 0.3 ms.

It is installed by the Rasa server's entry point (`python -m assistant`), not on import, and
only for the Rasa version it was written against.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import rasa
from jsonschema import ValidationError, validators
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

#: The Rasa release whose `RemoteAction._validate_action_result` this replaces.
PATCHED_RASA_VERSION = "3.6.21"


@lru_cache(maxsize=1)
def action_response_validator() -> Validator:
    """A validator for Rasa's action response spec, checked and built once."""
    spec = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(spec)
    validator_class.check_schema(spec)
    return validator_class(spec)


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """`RemoteAction._validate_action_result`, with the validator built once."""
    error = best_match(action_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, "
        "make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install_cached_action_response_validation() -> bool:
    """Installs the fix if Rasa is the version it was written for; returns whether it did."""
    if rasa.__version__ != PATCHED_RASA_VERSION:
        return False
    RemoteAction._validate_action_result = validate_action_result
    return True


__all__ = [
    "ValidationError",
    "action_response_validator",
    "install_cached_action_response_validation",
    "validate_action_result",
]
