"""Rows read straight from the driver's cursor, for the reports' big reads.

Building one SQLAlchemy `Row` per result row costs several times the fetch itself when a
report reads tens or hundreds of thousands of them. `plain_rows` hands back the driver's
tuples instead. Only for columns that need no result processing: text, numbers, and dates
and flags read raw (`type_coerce` to String or Integer) and parsed by the caller.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.sql import Select


def plain_rows(session: Session, statement: Select) -> list[tuple[Any, ...]]:
    """The rows of `statement` as the driver returns them."""
    result = session.connection().execute(statement)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()
