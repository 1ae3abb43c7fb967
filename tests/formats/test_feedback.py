"""The feedback database: written durably by the server, read by training, versioned."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from edgembed.errors import InputError
from edgembed.formats.feedback import (
    SCHEMA_VERSION,
    Mark,
    count_marks,
    insert_mark,
    open_feedback_db,
    read_marks,
)


def test_marks_read_back_as_written_in_order(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "fb.db"
    with contextlib.closing(open_feedback_db(path)) as db:
        first = insert_mark(db, Mark("can I keep my days?", True, chunk_id="c1", model="m"))
        second = insert_mark(db, Mark("vpn?", False, passage="The VPN needs a key."))
        assert count_marks(db) == 2
    assert (path.stat().st_mode & 0o777) == 0o600  # what people typed, for this user only
    marks = read_marks(path)
    assert [m.id for m in marks] == [first, second] and first < second
    assert (marks[0].query, marks[0].relevant, marks[0].chunk_id, marks[0].model) == (
        "can I keep my days?", True, "c1", "m",
    )  # fmt: skip
    assert (marks[1].relevant, marks[1].passage, marks[1].chunk_id) == (
        False, "The VPN needs a key.", None,
    )  # fmt: skip
    assert marks[0].time.endswith("+00:00")


def test_a_database_of_another_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fb.db"
    with contextlib.closing(open_feedback_db(path)) as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(sqlite3.DatabaseError, match="feedback format 2"):
        open_feedback_db(path)
    with pytest.raises(InputError, match="feedback format 2"):
        read_marks(path)


def test_a_missing_or_foreign_file_says_what_it_is(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_marks(tmp_path / "missing.db")
    (tmp_path / "chunks.db").write_text("not a database")
    with pytest.raises(InputError, match="not an edgembed feedback database"):
        read_marks(tmp_path / "chunks.db")
