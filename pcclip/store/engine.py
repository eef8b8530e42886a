"""Opening the one SQLite file: checks that never write to a file that is not ours, pragmas, migrations.

Concurrency model: many processes (workers, the runner, the TUI) share one file. WAL lets readers
run beside one writer; every write transaction starts with BEGIN IMMEDIATE so that it takes the
write lock up front and waits on the busy timeout, instead of failing with "database is locked"
when a deferred transaction tries to upgrade its read lock.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from pcclip.errors import StoreError
from pcclip.paths import db_path
from pcclip.store import migrations, tables  # noqa: F401  (tables registers the metadata)
from pcclip.store.views import VIEWS

# 'PCLP': marks a file as a pcclip database, so we never adopt (or migrate) someone else's file.
APPLICATION_ID = 0x50434C50
BUSY_TIMEOUT_MS = 60_000


@dataclass
class Store:
    """An open pcclip database."""

    path: Path
    engine: Engine
    readonly: bool

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        with Session(self.engine, expire_on_commit=False) as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def close(self) -> None:
        self.engine.dispose()


def _check_file(path: Path, *, readonly: bool) -> bool:
    """Validate the path before SQLite touches it. Returns whether the file already exists."""
    if path.is_dir():
        raise StoreError(f"{path}: is a directory, not a database file; pass a file path with --db")
    if not path.exists():
        if readonly:
            raise StoreError(f"{path}: no such database; run `pcclip run` or `pcclip testbed build` to make one")
        parent = path.parent
        if not parent.is_dir():
            raise StoreError(f"{path}: cannot create the database, folder {parent} does not exist")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise StoreError(f"{path}: cannot create the database, folder {parent} is not writable")
        return False
    if not os.access(path, os.R_OK):
        raise StoreError(f"{path}: the database file is not readable (check its permissions)")
    # The header is checked through SQLite (in _inspect), never with open()/close() of our own: closing any
    # descriptor of the file drops every POSIX lock this process's SQLite connections hold on it, which can
    # corrupt the database (sqlite.org/howtocorrupt.html, section 2.2).
    if not readonly:
        if not os.access(path, os.W_OK):
            raise StoreError(f"{path}: the database file is read-only; fix its permissions or pass another --db")
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise StoreError(
                f"{path}: its folder {path.parent} is not writable (SQLite needs it for the WAL files)"
            )
    return path.stat().st_size > 0


def _inspect(path: Path) -> tuple[int, int, int]:
    """(application_id, user_version, number of tables) read without writing anything."""
    uri = f"{path.as_uri()}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            n_tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if "file is not a database" in str(exc):
            raise StoreError(
                f"{path}: not an SQLite database (corrupt, or another kind of file); left untouched"
            ) from exc
        raise StoreError(f"{path}: cannot read the database ({exc}); it may be corrupt; left untouched") from exc
    return app_id, version, n_tables


def _on_connect(readonly: bool):
    def connect(dbapi_conn, _record) -> None:
        # Let us issue BEGIN ourselves (see module docstring).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        if readonly:
            cur.execute("PRAGMA query_only = ON")
        else:
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    return connect


def _make_engine(path: Path, *, readonly: bool) -> Engine:
    if readonly:
        url = f"sqlite:///file:{path}?mode=ro&uri=true"
    else:
        url = f"sqlite:///{path}"
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})
    event.listen(engine, "connect", _on_connect(readonly))

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


def _create_views(conn: sqlite3.Connection) -> None:
    for name, sql in VIEWS.items():
        conn.execute(f"DROP VIEW IF EXISTS {name}")
        conn.execute(sql)


def _initialise(path: Path, engine: Engine, existed: bool, app_id: int, version: int, n_tables: int) -> None:
    """Create, or migrate, the schema. Runs only on files that are empty or already ours."""
    if existed and app_id == APPLICATION_ID and version < migrations.SCHEMA_VERSION:
        backup = path.with_name(f"{path.name}.bak-v{version}")
        src = sqlite3.connect(path)
        try:
            dst = sqlite3.connect(backup)
            with dst:
                src.backup(dst)  # consistent copy even with a WAL beside the file
            dst.close()
        finally:
            src.close()
    raw = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        raw.execute("PRAGMA journal_mode = WAL")
        raw.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have initialised it meanwhile.
            cur_version = raw.execute("PRAGMA user_version").fetchone()[0]
            cur_app = raw.execute("PRAGMA application_id").fetchone()[0]
            if cur_app == APPLICATION_ID and cur_version < migrations.SCHEMA_VERSION:
                migrations.apply(raw, cur_version)
            raw.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            raw.execute(f"PRAGMA user_version = {migrations.SCHEMA_VERSION}")
            raw.execute("COMMIT")
        except BaseException:
            raw.execute("ROLLBACK")
            raise
    finally:
        raw.close()
    # New tables (and indexes) are created idempotently; views are always rebuilt.
    SQLModel.metadata.create_all(engine)
    raw = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        raw.execute("BEGIN IMMEDIATE")
        _create_views(raw)
        raw.execute("COMMIT")
    finally:
        raw.close()


def open_store(path: str | os.PathLike[str] | None = None, *, readonly: bool = False) -> Store:
    """Open (creating or migrating when writable) the pcclip database at `path`.

    Raises StoreError with a one-line message, having written nothing, when the path is a
    directory, unreadable, read-only, corrupt, another program's database, or from a newer pcclip.
    """
    p = db_path(path)
    existed = _check_file(p, readonly=readonly)
    app_id = version = n_tables = 0
    if existed:
        app_id, version, n_tables = _inspect(p)
        if app_id != APPLICATION_ID and n_tables > 0:
            raise StoreError(
                f"{p}: an SQLite database, but not a pcclip one (it has {n_tables} tables of its own); "
                "left untouched, pass another --db"
            )
        if app_id == APPLICATION_ID and version > migrations.SCHEMA_VERSION:
            raise StoreError(
                f"{p}: written by a newer pcclip (schema v{version}, this one knows v{migrations.SCHEMA_VERSION});"
                " upgrade pcclip"
            )
        if readonly and (app_id != APPLICATION_ID or version < migrations.SCHEMA_VERSION):
            # Reading an empty or old file: nothing to show until a writable open has set it up.
            if app_id != APPLICATION_ID:
                raise StoreError(f"{p}: an empty database; run `pcclip run` to fill it")
            raise StoreError(f"{p}: schema v{version} needs migrating; run `pcclip db migrate` first")
    engine = _make_engine(p, readonly=readonly)
    if not readonly:
        try:
            _initialise(p, engine, existed, app_id, version, n_tables)
        except sqlite3.DatabaseError as exc:
            engine.dispose()
            raise StoreError(f"{p}: cannot set up the database ({exc})") from exc
    return Store(path=p, engine=engine, readonly=readonly)
