"""The feedback database: one SQLite file of marks, people's judgements of whether a passage
answered a query.

`serve --feedback-db` writes it (`open_feedback_db`, `insert_mark`); `train --feedback` and
`improve` read it (`read_marks`). The table, at ``PRAGMA user_version`` 1::

    feedback(id INTEGER PRIMARY KEY, time TEXT, query TEXT, chunk_id TEXT, passage TEXT,
             relevant INTEGER, model TEXT)

The writer runs in WAL mode with ``synchronous=FULL``: a mark is committed and its commit
fsynced before `insert_mark` returns, so an acknowledged mark survives a kill or a power cut.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from edgembed.errors import InputError

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "Mark",
    "count_marks",
    "insert_mark",
    "is_full",
    "open_feedback_db",
    "open_private",
    "read_marks",
]

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    query TEXT NOT NULL,
    chunk_id TEXT,
    passage TEXT,
    relevant INTEGER NOT NULL CHECK (relevant IN (0, 1)),
    model TEXT
)
"""


@dataclass(frozen=True)
class Mark:
    """One judgement: did this passage (named by chunk id, by text, or both) answer the query.

    Attributes:
        id: the row id, in the order marks were stored (0 before it is stored).
        time: when it was stored (ISO 8601, UTC, milliseconds).
    """

    query: str
    relevant: bool
    chunk_id: str | None = None
    passage: str | None = None
    model: str | None = None
    id: int = 0
    time: str = ""


def open_private(path: Path) -> int:
    """A descriptor appending to `path`, created readable by this user alone when missing.

    Queries and marks are what people typed: other accounts on the host have no business
    reading them, whatever the umask says.
    """
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)


def open_feedback_db(path: Path, max_bytes: int | None = None) -> sqlite3.Connection:
    """Open (creating when missing) a feedback database for writing, from any one thread.

    Args:
        max_bytes: the most the database may hold; an insert past it raises
            sqlite3.OperationalError with ``sqlite_errorcode`` SQLITE_FULL (see `is_full`).

    Raises:
        OSError, sqlite3.Error: the file cannot be created or opened, or holds another format.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(open_private(path))  # SQLite gives its -wal and -shm files the same mode
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(SCHEMA)
        if max_bytes is not None:
            page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
            db.execute(f"PRAGMA max_page_count={max(1, max_bytes // page_size)}")
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        if version == 0:
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        elif version != SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"it holds feedback format {version}; this edgembed writes {SCHEMA_VERSION}"
            )
    except BaseException:
        db.close()
        raise
    return db


def insert_mark(db: sqlite3.Connection, mark: Mark) -> int:
    """Store `mark` durably; its row id once committed and fsynced."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    values = (now, mark.query, mark.chunk_id, mark.passage, int(mark.relevant), mark.model)
    with db:  # BEGIN ... COMMIT; synchronous=FULL fsyncs the WAL at COMMIT
        cursor = db.execute(
            "INSERT INTO feedback (time, query, chunk_id, passage, relevant, model) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            values,
        )
    return int(cursor.lastrowid or 0)


def is_full(error: sqlite3.Error) -> bool:
    """Whether `error` says the database reached its size cap (or its disk is full)."""
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


def count_marks(db: sqlite3.Connection) -> int:
    """Marks stored so far."""
    return int(db.execute("SELECT count(*) FROM feedback").fetchone()[0])


def marked_queries(db: sqlite3.Connection) -> set[str]:
    """Every query that has at least one mark."""
    return {str(row[0]) for row in db.execute("SELECT DISTINCT query FROM feedback")}


def read_marks(path: Path) -> list[Mark]:
    """Every mark of a feedback database, oldest first.

    Raises:
        InputError: the file is missing, is not a feedback database, or holds a newer format.
    """
    if not path.exists():
        raise InputError(f"feedback database {path} not found. `serve --feedback-db` makes one.")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            rows = db.execute(
                "SELECT id, time, query, chunk_id, passage, relevant, model FROM feedback "
                "ORDER BY id"
            ).fetchall()
    except sqlite3.Error as exc:
        raise InputError(f"{path} is not an edgembed feedback database: {exc}") from exc
    if version > SCHEMA_VERSION:
        raise InputError(
            f"{path} holds feedback format {version}; this edgembed reads {SCHEMA_VERSION}. "
            "Use the edgembed that wrote it, or a newer one."
        )
    return [
        Mark(query, bool(relevant), chunk_id, passage, model, int(row_id), str(time))
        for row_id, time, query, chunk_id, passage, relevant, model in rows
    ]
