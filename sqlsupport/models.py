"""What the two databases' models share: the declarative base and CHECK-constraint helpers.

Each deployable declares its own tables on its own base (`new_base()`), so their metadata stay
apart; both name constraints the same predictable way, so later migrations (and SQLite batch
mode) can refer to them.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import MetaData
from sqlalchemy.orm import declarative_base

NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_base() -> Any:
    """A declarative base with its own metadata, using NAMING_CONVENTION."""
    return declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))


def one_of(column: str, values: tuple[str, ...]) -> str:
    """Return the SQL of a CHECK that `column` holds one of `values` (NULL passes)."""
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"
