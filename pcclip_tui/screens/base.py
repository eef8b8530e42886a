"""What every data screen shares: polling the database in a worker thread without blocking the UI."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import get_current_worker

from pcclip_tui import queries

TABS = [("1", "Experiments"), ("2", "Datasets"), ("3", "Comparisons"), ("4", "Jobs"), ("5", "Results")]


def nav_bar(current: str) -> Text:
    """The screens and their keys, the current one highlighted (fits 80 columns)."""
    text = Text()
    for key, title in TABS:
        style = "bold reverse" if title == current else ""
        text.append(f" {key} ", style="bold " + style)
        text.append(f"{title} ", style=style)
    if current not in dict(TABS).values():
        text.append(f"│ {current}", style="bold")
    return text


class TopBar(Static):
    """One line: where you are, how to move, which database."""

    DEFAULT_CSS = "TopBar { height: 1; background: $primary-background; color: $text; padding: 0 0; }"


class DbScreen(Screen):
    """A screen that loads its rows in a thread worker, and reloads them when the database file changes."""

    TITLE_TEXT = ""
    POLL_SECONDS = 1.5

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._token: tuple | None = None

    @property
    def db(self) -> Path:
        return self.app.db_path  # type: ignore[attr-defined]

    def compose_top(self) -> ComposeResult:
        yield TopBar(nav_bar(self.TITLE_TEXT), id="topbar")

    def compose_bottom(self) -> ComposeResult:
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(self.POLL_SECONDS, self.poll)
        self.call_after_refresh(self.reload)  # paint the empty frame first, then query

    def on_screen_resume(self) -> None:
        self.reload()

    def poll(self) -> None:
        """Timer tick: query again only when this screen is shown and the file changed since the last load."""
        if not self.is_current:
            return
        token = queries.change_token(self.db)
        if token != self._token:
            self.reload()

    def reload(self) -> None:
        self._token = queries.change_token(self.db)
        self._load()

    def deliver(self, fn: Any, *args: Any) -> None:
        """From an exclusive worker thread: run `fn(*args)` on the UI thread unless a newer worker of the same group
        has replaced this one by then. The check runs on the UI thread, where replacement (cancellation) happens, so
        a slow older worker can never overwrite what a newer one showed (a thread is not stopped by cancelling)."""
        worker = get_current_worker()

        def apply() -> None:
            if not worker.is_cancelled:
                fn(*args)

        self.app.call_from_thread(apply)

    @work(thread=True, exclusive=True, group="db-load")
    def _load(self) -> None:
        try:
            with closing(queries.connect(self.db)) as conn:
                data = self.fetch(conn)
        except queries.DbUnavailable as exc:
            # missing or emptied database: the app's empty-state screen says what to run (no toast storm)
            self.deliver(self.app.show_empty_state, str(exc))  # type: ignore[attr-defined]
            return
        except sqlite3.Error as exc:
            self.deliver(self.show_error, str(exc))
            return
        self.deliver(self.show, data)

    # subclasses implement these two
    def fetch(self, conn: sqlite3.Connection) -> Any:  # runs in the worker thread
        raise NotImplementedError

    def show(self, data: Any) -> None:  # runs on the UI thread
        raise NotImplementedError

    def show_error(self, message: str) -> None:
        self.notify(message, severity="error", timeout=4)


def sync_table(table: DataTable, rows: list[tuple[Any, list[Any]]]) -> None:
    """Replace a table's rows while keeping the cursor on the same row key (no jump on every poll)."""
    current = None
    if table.row_count and table.cursor_row is not None and 0 <= table.cursor_row < table.row_count:
        current = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
    old_keys = [rk.value for rk in table.rows]
    new_keys = [str(k) for k, _ in rows]
    if old_keys == new_keys:
        columns = list(table.columns)
        for key, cells in rows:
            for col, cell in zip(columns, cells):
                if str(table.get_cell(str(key), col)) != str(cell):
                    table.update_cell(str(key), col, cell, update_width=True)
        return
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=str(key))
    if current is not None and current in new_keys:
        table.move_cursor(row=new_keys.index(current), animate=False)


def selected_key(table: DataTable) -> str | None:
    if not table.row_count or table.cursor_row is None or table.cursor_row >= table.row_count:
        return None
    return table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value


def dim(text: str) -> Text:
    return Text(text, style="dim")
