"""Forward migrations. The schema version lives in SQLite's `user_version` pragma.

A fresh database is created at the current version from the table definitions. An older
one is upgraded step by step inside one transaction, after a byte copy of the file is kept
beside it (`<name>.bak-v<old>`), so a migration can never lose data.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

SCHEMA_VERSION = 2


def _v2_result_job_index(conn: sqlite3.Connection) -> None:
    # Per-experiment result queries join on result.job_id; without an index they scan every result.
    conn.execute("CREATE INDEX IF NOT EXISTS ix_result_job_id ON result (job_id)")


# version -> function that upgrades a database at version-1 to version.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    2: _v2_result_job_index,
}


def pending(current: int) -> list[int]:
    return [v for v in range(current + 1, SCHEMA_VERSION + 1)]


def apply(conn: sqlite3.Connection, current: int) -> None:
    """Upgrade `conn` from `current` to SCHEMA_VERSION; the caller holds the transaction."""
    for version in pending(current):
        MIGRATIONS[version](conn)
