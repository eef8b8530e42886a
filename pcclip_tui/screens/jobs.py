"""Jobs: the live queue with progress bars, a live tail of the selected job's log, cancel, retry, launch."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Log

from pcclip_tui import queries
from pcclip_tui.screens.base import DbScreen, selected_key, sync_table
from pcclip_tui.widgets import bar, duration, job_status_text, one_line

STATUS_FILTERS = [None, "running", "queued", "pending", "failed", "cancelled", "done"]
TAIL_BYTES = 16_384


def tail(path: str | None, lines: int = 200) -> str:
    """The last lines of a log file (read from its end: logs can be large)."""
    if not path:
        return "(this job has no log file yet)"
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - TAIL_BYTES))
            data = fh.read().decode("utf-8", errors="replace")
    except OSError as exc:
        return f"(cannot read {p}: {exc.strerror or exc})"
    return "\n".join(data.splitlines()[-lines:]) or "(the log is empty)"


def display_path(path: str | None, db: Path) -> str:
    """Paths under the database's folder are shown relative to it (short enough for 80 columns)."""
    if not path:
        return ""
    try:
        return str(Path(path).relative_to(db.parent))
    except ValueError:
        return path


class JobsScreen(DbScreen):
    TITLE_TEXT = "Jobs"
    BINDINGS = [
        Binding("c", "cancel", "Cancel"),
        Binding("r", "retry", "Retry"),
        Binding("L", "launch", "Launch spec"),
        Binding("f", "filter", "Filter"),
        Binding("enter", "open_run", "Run detail", priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.status_filter: str | None = None
        self._shown_job: int | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        with Vertical(id="jobs-body"):
            table = DataTable(id="jobs", cursor_type="row", zebra_stripes=True)
            table.border_title = "Queue"
            table.add_columns("id", "kind", "status", "progress", "try", "time", "label", "message")
            yield table
            log = Log(id="job-log", auto_scroll=True)
            log.border_title = "Log"
            yield log
        yield from self.compose_bottom()

    def fetch(self, conn: sqlite3.Connection) -> dict[str, Any]:
        rows = queries.jobs(conn, status=self.status_filter)
        counts = queries.job_counts(conn)
        return {"rows": rows, "counts": counts}

    def show(self, data: dict[str, Any]) -> None:
        table = self.query_one("#jobs", DataTable)
        self._rows = {str(j["id"]): j for j in data["rows"]}
        sync_table(table, [
            (j["id"], [
                str(j["id"]), j["kind"], job_status_text(j),
                bar(1.0 if j["status"] == "done" else j["progress"], 8), str(j["attempt"]),
                duration(j["started_at"], j["ended_at"]), one_line(j["label"], 40), one_line(j["message"], 60),
            ])
            for j in data["rows"]
        ])
        counts = data["counts"]
        text = "  ".join(f"{counts.get(s, 0)} {s}" for s in STATUS_FILTERS[1:])
        table.border_title = f"Queue [{self.status_filter or 'all'}]  {text}"
        self.update_log()

    def selected_job(self) -> dict[str, Any] | None:
        key = selected_key(self.query_one("#jobs", DataTable))
        return getattr(self, "_rows", {}).get(key) if key else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.update_log()

    def update_log(self) -> None:
        job = self.selected_job()
        if job is None:
            self._show_log("Log", "(no job selected)")
            return
        self._read_log(job["id"])

    @work(thread=True, exclusive=True, group="log")
    def _read_log(self, job_id: int) -> None:
        from contextlib import closing

        with closing(queries.connect(self.db)) as conn:
            job = queries.job(conn, job_id)
        if job is None:
            return
        text = tail(job["log_path"])
        if job["status"] == "failed" and job.get("error"):
            text += "\n--- error ---\n" + job["error"].strip()
        title = f"Log: job {job['id']} {job['kind']} ({job['status']})  {display_path(job['log_path'], self.db)}"
        beat = f"heartbeat {duration(job['heartbeat_at'])} ago · " if job["heartbeat_at"] else ""
        subtitle = f"{beat}{job['host'] or ''} pid {job['pid'] or '-'} · {one_line(job['message'], 60)}"
        self.deliver(self._show_log, title, text, subtitle)

    def _show_log(self, title: str, text: str, subtitle: str = "") -> None:
        log = self.query_one("#job-log", Log)
        log.border_title = title
        log.border_subtitle = subtitle
        if getattr(log, "_pcclip_text", None) != text:  # rewrite only on change: no flicker, scroll kept
            log._pcclip_text = text  # type: ignore[attr-defined]
            log.clear()
            log.write(text)

    def action_filter(self) -> None:
        i = STATUS_FILTERS.index(self.status_filter)
        self.status_filter = STATUS_FILTERS[(i + 1) % len(STATUS_FILTERS)]
        self.notify(f"Showing {self.status_filter or 'all'} jobs", timeout=2)
        self.reload()

    def action_cancel(self) -> None:
        job = self.selected_job()
        if job is None:
            return
        if job["status"] not in ("pending", "queued", "running"):
            self.notify(f"Job {job['id']} is {job['status']}: nothing to cancel", severity="warning")
            return
        self.app.control_action("cancel_job", job["id"])  # type: ignore[attr-defined]

    def action_retry(self) -> None:
        job = self.selected_job()
        if job is None:
            return
        if job["status"] not in ("failed", "cancelled"):
            self.notify(f"Job {job['id']} is {job['status']}: only failed or cancelled jobs can be retried",
                        severity="warning")
            return
        self.app.control_action("retry_job", job["id"])  # type: ignore[attr-defined]

    def action_launch(self) -> None:
        self.app.action_launch()  # type: ignore[attr-defined]

    def action_open_run(self) -> None:
        from contextlib import closing

        from pcclip_tui.screens.run_detail import RunDetailScreen

        job = self.selected_job()
        if job is None:
            return
        with closing(queries.connect(self.db)) as conn:
            runs = queries.runs_of_job(conn, job["id"])
        if runs:
            self.app.push_screen(RunDetailScreen(runs[0]["id"]))
        else:
            self.notify(f"Job {job['id']} ({job['kind']}) made no run", timeout=3)
