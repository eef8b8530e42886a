"""Read-only SQL for users and scripts: a plain sqlite3 connection that cannot write."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pcclip.errors import StoreError
from pcclip.store.engine import APPLICATION_ID, _check_file, _inspect


def query(path: Path, sql: str, params: tuple = ()) -> tuple[list[str], list[tuple]]:
    """Run one statement on a read-only connection; returns (column names, rows)."""
    _check_file(path, readonly=True)
    app_id, _version, n_tables = _inspect(path)
    if app_id != APPLICATION_ID and n_tables:
        raise StoreError(f"{path}: an SQLite database, but not a pcclip one; pass another --db")
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=60)
    try:
        conn.execute("PRAGMA query_only = ON")
        try:
            cur = conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise StoreError(f"SQL error: {exc}") from exc
        cols = [d[0] for d in cur.description or []]
        rows = cur.fetchall()
    finally:
        conn.close()
    return cols, rows
