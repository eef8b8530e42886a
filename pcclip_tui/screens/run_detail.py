"""Run detail: the spec and provenance behind one run (models, file hashes, prompt, seeds), its artifacts,
results and metrics, with its loss curve."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static
from textual_plotext import PlotextPlot

from pcclip_tui import plots, queries
from pcclip_tui.screens.base import DbScreen
from pcclip_tui.widgets import duration, pct, prompt_text, short_time, status_text


def _kv(title: str, pairs: list[tuple[str, Any]]) -> Table:
    t = Table.grid(padding=(0, 1))
    t.add_column(style="bold", no_wrap=True)
    t.add_column(overflow="fold")
    for k, v in pairs:
        t.add_row(k, v if isinstance(v, Text) else Text(str(v if v not in (None, "") else "-")))
    t.title = title
    t.title_justify = "left"
    t.title_style = "bold reverse"
    return t


def _params(raw: str | None) -> str:
    try:
        d = json.loads(raw or "{}")
    except ValueError:
        return raw or ""
    return ", ".join(f"{k}={v}" for k, v in d.items()) if isinstance(d, dict) else str(d)


def provenance(run: dict[str, Any]) -> Group:
    """Everything that produced the run, as rich tables."""
    parts: list[Any] = [_kv(f"Run {run['id']}", [
        ("arm", run["arm"]), ("N", run["n"]), ("seed", run["seed"]), ("variant", run["variant"]),
        ("base model", run["base_model"]), ("config", _params(run["config_json"])),
        ("created", short_time(run["created_at"])),
    ])]
    llm, pool, job = run["llm"], run["pool"], run["job"]
    if llm:
        parts.append(_kv("LLM", [("name", llm["name"]), ("backend", llm["backend"]), ("model", llm["model_id"]),
                                 ("sha256", llm["file_sha256"]), ("sampling", _params(llm["params_json"]))]))
    if pool:
        parts.append(_kv("Comparison pool", [("pool", pool["id"]), ("prompt", pool["prompt_id"]),
                                             ("prompt text", prompt_text(pool["prompt_id"])),
                                             ("split", pool["split"]), ("pair seed", pool["seed"]),
                                             ("target pairs", pool["n_target"])]))
    if job:
        parts.append(_kv("Job", [
            ("id", job["id"]), ("kind", job["kind"]), ("key", job["key"]), ("status", status_text(job["status"])),
            ("attempt", job["attempt"]), ("host/pid", f"{job['host'] or '-'} / {job['pid'] or '-'}"),
            ("time", duration(job["started_at"], job["ended_at"])), ("log", job["log_path"]),
            ("params", _params(job["params_json"])),
        ]))
    if run["artifacts"]:
        t = Table(title="Artifacts", title_justify="left", title_style="bold reverse", expand=True)
        for col in ("kind", "sha256", "bytes", "path"):
            t.add_column(col, overflow="fold")
        for a in run["artifacts"]:
            t.add_row(a["kind"], a["sha256"][:16], f"{a['bytes']:,}", a["path"])
        parts.append(t)
    if run["results"]:
        t = Table(title="Results (mean over evaluation seeds, %)", title_justify="left",
                  title_style="bold reverse", expand=True)
        for col in ("task", "metric", "mean", "min-max", "seeds", "chance"):
            t.add_column(col)
        for r in run["results"]:
            t.add_row(r["task"], r["metric"], pct(r["mean"]), f"{pct(r['lo'])}-{pct(r['hi'])}", str(r["seeds"]),
                      pct(r["chance"], 0))
        parts.append(t)
    if run["metrics"]:
        t = Table(title="Metrics", title_justify="left", title_style="bold reverse", expand=True)
        for col in ("name", "points", "last step", "last value"):
            t.add_column(col)
        for m in run["metrics"]:
            t.add_row(m["name"], str(m["points"]), str(m["last_step"]), f"{m['last_value']:.4g}")
        parts.append(t)
    for e in run["experiments"]:
        parts.append(Text(f"Spec of experiment #{e['id']} {e['name']} ({e['spec_hash'][:12]})", style="bold reverse"))
        parts.append(Text(e["spec_text"].rstrip() or "(empty)"))
    return Group(*parts)


class RunDetailScreen(DbScreen):
    TITLE_TEXT = "Run detail"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("m", "metric", "Next metric"),
    ]

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.metric: str | None = None
        self._metrics: list[str] = []

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        with VerticalScroll(id="run-scroll"):
            yield PlotextPlot(id="run-plot")
            yield Static("loading…", id="run-info")
        yield from self.compose_bottom()

    def fetch(self, conn: sqlite3.Connection) -> dict[str, Any] | None:
        return queries.run_detail(conn, self.run_id)

    def show(self, run: dict[str, Any] | None) -> None:
        info = self.query_one("#run-info", Static)
        if run is None:
            info.update(f"Run {self.run_id} not found.")
            return
        info.update(provenance(run))
        self._metrics = [m["name"] for m in run["metrics"]]
        if self.metric not in self._metrics:
            self.metric = "loss" if "loss" in self._metrics else (self._metrics[0] if self._metrics else None)
        self.query_one("#run-plot").display = bool(self._metrics)
        self._plot()

    def _plot(self) -> None:
        if self.metric is not None:
            self._load_series(self.metric)

    @work(thread=True, exclusive=True, group="run-series")
    def _load_series(self, name: str) -> None:
        with closing(queries.connect(self.db)) as conn:
            pts = queries.metric_series(conn, self.run_id, name, 1000)
        self.deliver(self._show_series, name, pts)

    def _show_series(self, name: str, pts: list[dict[str, Any]]) -> None:
        plot = self.query_one("#run-plot", PlotextPlot)
        plots.loss_curves(plot.plt, {f"run {self.run_id}": pts}, f"{name} (m: next metric)", name)
        plot.refresh()

    def action_metric(self) -> None:
        if self._metrics:
            i = self._metrics.index(self.metric) if self.metric in self._metrics else -1
            self.metric = self._metrics[(i + 1) % len(self._metrics)]
            self._plot()
