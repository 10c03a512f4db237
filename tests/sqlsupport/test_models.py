"""The shared declarative base and CHECK helper of both databases' models."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, Integer, String

from sqlsupport.models import NAMING_CONVENTION, new_base, one_of


def test_each_base_has_its_own_metadata_with_the_naming_convention() -> None:
    first, second = new_base(), new_base()

    class Thing(first):  # type: ignore[misc, valid-type]
        __tablename__ = "things"
        __table_args__ = (CheckConstraint(one_of("kind", ("a", "b")), name="kind"),)
        id = Column(Integer, primary_key=True)
        kind = Column(String(8))

    assert first.metadata is not second.metadata
    assert list(second.metadata.tables) == []
    for key, pattern in NAMING_CONVENTION.items():
        assert first.metadata.naming_convention[key] == pattern
    (check,) = [c for c in Thing.__table__.constraints if isinstance(c, CheckConstraint)]
    assert str(check.sqltext) == "kind IN ('a', 'b')"
