"""Experiments: every ablation run so far, its status and progress; open one to see its arms and jobs."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from pcclip_tui import queries
from pcclip_tui.screens.base import DbScreen, selected_key, sync_table
from pcclip_tui.widgets import bar, duration, short_time, spec_description, status_text


def experiment_status(e: dict[str, Any]) -> str:
    if e["running"]:
        return "running"
    if e["pending"]:
        return "pending"
    if e["failed"]:
        return "failed"
    if e["cancelled"]:
        return "cancelled"
    return "done" if e["n_jobs"] else "pending"


def panel_text(e: dict[str, Any], kinds: list[dict[str, Any]]) -> Text:
    """Below the list: the highlighted experiment's spec hash, description and per-kind job progress."""
    text = Text()
    text.append(f"#{e['id']} {e['name']}", style="bold")
    text.append(f"  spec {e['spec_hash'][:12]}  created {short_time(e['created_at'])}\n")
    desc = spec_description(e["spec_text"] or "")
    if desc:
        text.append(desc + "\n", style="italic")
    for i, k in enumerate(kinds):
        if i:
            text.append(" · ")
        text.append(f"{k['kind']} {k['done']}/{k['total']}")
        if k["running"]:
            text.append(f" {k['running']}▶", style="cyan")
        if k["failed"]:
            text.append(f" {k['failed']}✗", style="bold red")
    return text


class ExperimentsScreen(DbScreen):
    TITLE_TEXT = "Experiments"
    BINDINGS = [
        Binding("enter", "open", "Open", priority=True),
        Binding("x", "cancel_experiment", "Cancel exp"),
        Binding("L", "launch", "Launch spec"),
    ]

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        table = DataTable(id="experiments", cursor_type="row", zebra_stripes=True)
        table.add_columns("id", "name", "status", "progress", "jobs", "started", "time")
        yield table
        yield Static("", id="exp-panel")
        yield Static("", id="exp-hint", classes="hint")
        yield from self.compose_bottom()

    def fetch(self, conn: sqlite3.Connection) -> list[dict[str, Any]]:
        return queries.experiments(conn)

    def show(self, data: list[dict[str, Any]]) -> None:
        rows = []
        for e in data:
            jobs = Text(f"{e['done']}/{e['n_jobs']}")
            if e["failed"]:
                jobs.append(f" {e['failed']}✗", style="bold red")
            rows.append((e["id"], [
                str(e["id"]), e["name"], status_text(experiment_status(e)), bar(e["progress"]), jobs,
                short_time(e["started_at"] or e["created_at"]),
                duration(e["started_at"], e["ended_at"] if not (e["running"] or e["pending"]) else None),
            ]))
        sync_table(self.query_one("#experiments", DataTable), rows)
        hint = "Enter: open an experiment (arms, runs, jobs).  L: launch a spec." if rows else \
            "No experiments yet: press L to launch a spec, or run `pcclip run` in a shell."
        self.query_one("#exp-hint", Static).update(hint)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is not None and event.row_key.value is not None:
            self._panel(int(event.row_key.value))

    @work(thread=True, exclusive=True, group="exp-panel")
    def _panel(self, experiment_id: int) -> None:
        with closing(queries.connect(self.db)) as conn:
            e = queries.experiment(conn, experiment_id)
            kinds = queries.experiment_job_kinds(conn, experiment_id)
        if e is None:
            return
        self.deliver(self.query_one("#exp-panel", Static).update, panel_text(e, kinds))

    def action_open(self) -> None:
        key = selected_key(self.query_one("#experiments", DataTable))
        if key is not None:
            self.app.push_screen(ExperimentScreen(int(key)))

    def action_cancel_experiment(self) -> None:
        key = selected_key(self.query_one("#experiments", DataTable))
        if key is not None:
            self.app.control_action("cancel_experiment", int(key))  # type: ignore[attr-defined]

    def action_launch(self) -> None:
        self.app.action_launch()  # type: ignore[attr-defined]


class ExperimentScreen(DbScreen):
    """One experiment: its runs (arm x N x variant x seed) and its jobs."""

    TITLE_TEXT = "Experiment"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("enter", "open", "Open run", priority=True),
        Binding("tab", "focus_next", "Runs/Jobs", show=False),
        Binding("x", "cancel_experiment", "Cancel exp"),
    ]

    def __init__(self, experiment_id: int) -> None:
        super().__init__()
        self.experiment_id = experiment_id

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Static("", id="exp-summary")
        with Vertical(id="exp-body"):
            runs = DataTable(id="runs", cursor_type="row", zebra_stripes=True)
            runs.border_title = "Arms: runs (Enter: run detail)"
            runs.add_columns("run", "arm", "N", "variant", "seed", "status", "results")
            yield runs
            jobs = DataTable(id="exp-jobs", cursor_type="row", zebra_stripes=True)
            jobs.border_title = "Jobs"
            jobs.add_columns("id", "kind", "status", "progress", "time", "label")
            yield jobs
        yield from self.compose_bottom()

    def fetch(self, conn: sqlite3.Connection) -> dict[str, Any]:
        return {
            "experiment": queries.experiment(conn, self.experiment_id),
            "runs": queries.experiment_runs(conn, self.experiment_id),
            "jobs": queries.jobs(conn, experiment_id=self.experiment_id),
        }

    def show(self, data: dict[str, Any]) -> None:
        e = data["experiment"]
        if e is None:
            self.query_one("#exp-summary", Static).update(f"Experiment {self.experiment_id} not found.")
            return
        counts: dict[str, int] = {}
        for j in data["jobs"]:
            counts[j["status"]] = counts.get(j["status"], 0) + 1
        summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "no jobs"
        self.query_one("#exp-summary", Static).update(
            f"[b]#{e['id']} {e['name']}[/]  spec {e['spec_hash'][:12]}  created {short_time(e['created_at'])}"
            f"  jobs: {summary}"
        )
        sync_table(self.query_one("#runs", DataTable), [
            (r["id"], [str(r["id"]), r["arm"], str(r["n"]), r["variant"] or "-", str(r["seed"]),
                       status_text(r["status"]), str(r["results"])])
            for r in data["runs"]
        ])
        sync_table(self.query_one("#exp-jobs", DataTable), [
            (j["id"], [str(j["id"]), j["kind"], status_text(j["status"]),
                       bar(1.0 if j["status"] == "done" else j["progress"], 8),
                       duration(j["started_at"], j["ended_at"]), j["label"]])
            for j in data["jobs"]
        ])

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "runs":
            self.action_open()

    def action_open(self) -> None:
        from pcclip_tui.screens.run_detail import RunDetailScreen

        key = selected_key(self.query_one("#runs", DataTable))
        if key is not None:
            self.app.push_screen(RunDetailScreen(int(key)))

    def action_cancel_experiment(self) -> None:
        self.app.control_action("cancel_experiment", self.experiment_id)  # type: ignore[attr-defined]
