"""A deployable's settings: a pydantic `BaseSettings` read from the environment, failing fast.

Each deployable declares one `EnvironmentSettings` subclass whose fields name their variable
(`Field(..., env="HANDOFF_SECRET")`) and reads it once at start-up with `from_env()`. pydantic's
`ValidationError` becomes a `MissingSettingError` naming every missing or malformed variable,
so a process set up wrongly stops at once with one clear message, instead of running with ""
and failing on its first request. (Built directly, as tests do, a class takes the values given
and reads the rest from the process environment, as any pydantic `BaseSettings` does.)

The same rules for every deployable:
- variable names are exact (case-sensitive), and secrets come from the environment only;
- an unset or blank variable means "not set": the documented default (`.env.example`), or a
  start-up error for a field without one (a secret);
- whitespace around a value is ignored;
- settings are immutable, and `secret_field`s are left out of the repr (and so of logs).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseSettings, Field, ValidationError, validator
from pydantic.fields import ModelField

SETUP_HINT = "Copy .env.example to .env (or run `make .env`) and set it."

SettingsT = TypeVar("SettingsT", bound="EnvironmentSettings")


class MissingSettingError(ValueError):
    """Raised at start-up when a required environment variable is not set or is malformed."""


def secret_field(variable: str) -> Any:
    """A required field read from `variable`, kept out of the settings' repr."""
    return Field(..., env=variable, repr=False)


def positive_field(default: float, variable: str) -> Any:
    """A field read from `variable`: a number greater than 0 (and finite), or `default`."""
    return Field(default, env=variable, gt=0, allow_inf_nan=False)


def port_field(default: int, variable: str) -> Any:
    """A field read from `variable`: a TCP port (1-65535), or `default`."""
    return Field(default, env=variable, gt=0, lt=65536)


class EnvironmentSettings(BaseSettings):
    """Base of each deployable's settings (see the module doc)."""

    class Config:
        case_sensitive = True
        frozen = True
        anystr_strip_whitespace = True

    @validator("*", pre=True)
    def _blank_is_unset(cls, value: Any, field: ModelField) -> Any:
        if isinstance(value, str) and not value.strip():
            return None if field.required else field.get_default()
        return value

    @classmethod
    def from_env(cls: type[SettingsT], environ: Mapping[str, str] | None = None) -> SettingsT:
        """Read the settings from the process environment, or only from `environ` if given.

        Raises:
            MissingSettingError: naming each variable that is not set or is malformed.
        """
        try:
            if environ is None:
                return cls()
            # Every field from the mapping, so nothing comes from the process environment
            # (which `make` fills from .env).
            fields = cls.__fields__.values()
            return cls(**{field.name: environ.get(variable_of(field), "") for field in fields})
        except ValidationError as error:
            raise MissingSettingError(_describe(cls, error, environ)) from None


def variable_of(field: ModelField) -> str:
    """The environment variable a settings field is read from."""
    (variable,) = field.field_info.extra["env_names"]
    return str(variable)


def _describe(
    settings_class: type[EnvironmentSettings],
    error: ValidationError,
    environ: Mapping[str, str] | None,
) -> str:
    """One line per problem, naming the variable (and its value, unless it is a secret)."""
    env = os.environ if environ is None else environ
    lines = []
    for problem in error.errors():
        field = settings_class.__fields__[str(problem["loc"][0])]
        variable = variable_of(field)
        raw = env.get(variable, "").strip()
        if not raw:
            lines.append(f"{variable} is not set. {SETUP_HINT}")
        elif field.field_info.repr:
            lines.append(f"{variable} is not valid ({problem['msg']}), got {raw!r}")
        else:
            lines.append(f"{variable} is not valid ({problem['msg']})")
    return "\n".join(lines)
