"""`tests.support.sqlite_copies`: each test's database is the fresh one, made once and copied."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from sqlsupport.database import Database
from tests.sqlsupport.conftest import MIGRATIONS_DIR
from tests.support.sqlite_copies import make_fresh


def _rows(database: Database) -> list[tuple[int, str]]:
    with database.session() as session:
        return [tuple(row) for row in session.execute(text("SELECT id, name FROM parents"))]


def _with_one_parent(database: Database) -> None:
    database.migrate()
    with database.session(write=True) as session:
        session.execute(text("INSERT INTO parents (id, name) VALUES (1, 'made once')"))


def test_a_copy_holds_what_was_made_and_nothing_a_test_wrote_since(tmp_path: Path) -> None:
    made = 0

    def make(database: Database) -> None:
        nonlocal made
        made += 1
        _with_one_parent(database)

    first = Database(f"sqlite:///{tmp_path / 'a' / 'first.db'}", MIGRATIONS_DIR)
    make_fresh(first, "one parent, for this test", make)
    with first.session(write=True) as session:  # what the first test does to its database
        session.execute(text("INSERT INTO parents (id, name) VALUES (2, 'written later')"))
    second = Database(f"sqlite:///{tmp_path / 'b' / 'second.db'}", MIGRATIONS_DIR)
    make_fresh(second, "one parent, for this test", make)

    assert made == 1
    assert _rows(first) == [(1, "made once"), (2, "written later")]
    assert _rows(second) == [(1, "made once")]
    second.migrate()  # already at the newest revision: nothing to do
    first.dispose()
    second.dispose()


def test_another_kind_is_made_for_itself(tmp_path: Path) -> None:
    with_parent = Database(f"sqlite:///{tmp_path / 'parent.db'}", MIGRATIONS_DIR)
    make_fresh(with_parent, "one parent, the other test", _with_one_parent)
    empty = Database(f"sqlite:///{tmp_path / 'empty.db'}", MIGRATIONS_DIR)
    make_fresh(empty, "migrated, the other test", Database.migrate)

    assert (_rows(with_parent), _rows(empty)) == ([(1, "made once")], [])
    with_parent.dispose()
    empty.dispose()
