"""Results: the ablation tables (mean ± standard error, n, chance) and plots of both ablations."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import ContentSwitcher, DataTable, Static
from textual_plotext import PlotextPlot

from pcclip_tui import plots, queries
from pcclip_tui.screens.base import DbScreen, selected_key
from pcclip_tui.widgets import mean_se, pct

VIEWS = ["table", "by-n", "bars", "loss", "trade"]
VIEW_NAMES = {"table": "table", "by-n": "accuracy vs N", "bars": "per-LLM bars", "loss": "loss curves",
              "trade": "difference vs zero-shot"}
SORTS = ["arm", "N", "mean", "stderr"]
GROUPS = ["task", "llm", "none"]


def sort_rows(rows: list[dict[str, Any]], sort: str, group: str) -> list[dict[str, Any]]:
    keys = {
        "arm": lambda r: (r["llm"] != "base", r["llm"], r["n"], r["variant"]),
        "N": lambda r: (r["n"], r["llm"], r["variant"]),
        "mean": lambda r: -(r["mean"] or 0.0),
        "stderr": lambda r: -(r["stderr"] or 0.0),
    }
    out = sorted(rows, key=keys[sort])
    if group != "none":
        out = sorted(out, key=lambda r: (r[group], r["metric"]) if group == "task" else r[group])  # stable
    return out


class ResultsScreen(DbScreen):
    TITLE_TEXT = "Results"
    BINDINGS = [
        Binding("v", "view", "View"),
        Binding("t", "task", "Task"),
        Binding("s", "sort", "Sort"),
        Binding("g", "group", "Group"),
        Binding("e", "experiment", "Experiment"),
        Binding("enter", "open_run", "Run detail", priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.experiment_id: int | None = None
        self.view, self.sort, self.group = "table", "arm", "task"
        self.plot_task: str | None = None
        self._experiments: list[dict[str, Any]] = []
        self._rows: list[dict[str, Any]] = []
        self._shown: list[dict[str, Any]] = []
        self._summary_token: tuple | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Static("", id="res-status")
        with ContentSwitcher(initial="table", id="res-views"):
            table = DataTable(id="table", cursor_type="row", zebra_stripes=True)
            table.add_columns("task", "llm", "N", "variant", "mean ± se %", "runs", "chance")
            yield table
            yield PlotextPlot(id="by-n")
            yield PlotextPlot(id="bars")
            yield PlotextPlot(id="loss")
            yield PlotextPlot(id="trade")
        yield from self.compose_bottom()

    def fetch(self, conn: sqlite3.Connection) -> dict[str, Any]:
        exps = queries.result_experiments(conn)
        exp_id = self.experiment_id if any(e["id"] == self.experiment_id for e in exps) else \
            (exps[0]["id"] if exps else None)
        # The summary only changes when results do: skip it while jobs merely report progress.
        token = (exp_id, queries.results_token(conn))
        if token == self._summary_token:  # set on the UI thread only, together with the rows it describes
            rows = self._rows
        else:
            rows = queries.ablation_summary(conn, exp_id) if exp_id is not None else []
        return {"experiments": exps, "experiment_id": exp_id, "rows": rows, "token": token}

    def show(self, data: dict[str, Any]) -> None:
        self._experiments, self.experiment_id, self._rows = data["experiments"], data["experiment_id"], data["rows"]
        self._summary_token = data["token"]
        tasks = self.tasks()
        if self.plot_task not in tasks:
            self.plot_task = "diff/mean" if "diff/mean" in tasks else (tasks[0] if tasks else None)
        self.render_table()
        self.render_view()

    def tasks(self) -> list[str]:
        return sorted({r["task"] for r in self._rows})

    def render_status(self) -> None:
        exp = next((e for e in self._experiments if e["id"] == self.experiment_id), None)
        if exp is None:
            text = "No results yet: they appear as evaluation jobs finish (run `pcclip run`, or L on the Jobs screen)."
        else:
            text = (f"[b]#{exp['id']} {exp['name']}[/] · [b]{VIEW_NAMES[self.view]}[/] · task [b]{self.plot_task}[/]"
                    f" · sort {self.sort} · group {self.group}")
        self.query_one("#res-status", Static).update(text)

    def render_table(self) -> None:
        table = self.query_one("#table", DataTable)
        current = selected_key(table)
        table.clear()
        self._shown = sort_rows(self._rows, self.sort, self.group)
        last = None
        for i, r in enumerate(self._shown):
            task = r["task"] if r["metric"] == "accuracy" else f"{r['task']} [{r['metric']}]"
            llm = r["llm"]
            if self.group == "task":
                task_cell = Text(task, style="bold") if task != last else Text("")
                last = task
                cells = [task_cell, llm]
            elif self.group == "llm":
                llm_cell = Text(llm, style="bold") if llm != last else Text("")
                last = llm
                cells = [task, llm_cell]
            else:
                cells = [task, llm]
            runs = f"{r['n_runs']}" + ("" if r["se_over"] == "runs" else f"×{r['n_rows']}s")
            cells += [str(r["n"]), r["variant"] or "-", mean_se(r["mean"], r["stderr"]), runs, pct(r["chance"], 0)]
            table.add_row(*cells, key=str(i))
        if current is not None and current.isdigit() and int(current) < table.row_count:
            table.move_cursor(row=int(current), animate=False)
        self.render_status()

    def render_view(self) -> None:
        self.query_one("#res-views", ContentSwitcher).current = self.view
        self.render_status()
        if self.view == "table" or self.plot_task is None and self.view not in ("loss", "trade"):
            return
        plot = self.query_one(f"#{self.view}", PlotextPlot)
        metric = "accuracy" if any(r["metric"] == "accuracy" and r["task"] == self.plot_task for r in self._rows) \
            else next((r["metric"] for r in self._rows if r["task"] == self.plot_task), "accuracy")
        arm = self.selected_arm()
        variant = arm["variant"] if arm else None
        if self.view == "by-n":
            plots.accuracy_vs_n(plot.plt, self._rows, self.plot_task, metric, variant)
        elif self.view == "bars":
            plots.per_llm_bars(plot.plt, self._rows, self.plot_task, metric, variant)
        elif self.view == "trade":
            plots.tradeoff(plot.plt, self._rows, variant)
        else:
            if arm is None:
                plots.loss_curves(plot.plt, {}, "select a row in the table first")
            else:
                self._load_loss(self.experiment_id, arm)
        plot.refresh()

    def selected_arm(self) -> dict[str, Any] | None:
        key = selected_key(self.query_one("#table", DataTable))
        return self._shown[int(key)] if key is not None and int(key) < len(self._shown) else None

    @work(thread=True, exclusive=True, group="loss")
    def _load_loss(self, experiment_id: int | None, arm: dict[str, Any]) -> None:
        if experiment_id is None:
            return
        with closing(queries.connect(self.db)) as conn:
            runs = queries.arm_runs(conn, experiment_id, arm["llm"], arm["n"], arm["variant"])
            series = {f"run {r['id']} seed {r['seed']}": queries.metric_series(conn, r["id"], "loss", 500)
                      for r in runs[:8]}
        title = f"loss: {arm['llm']} N={arm['n']} {arm['variant']}".strip()
        self.deliver(self._show_loss, series, title)

    def _show_loss(self, series: dict[str, list[dict[str, Any]]], title: str) -> None:
        plot = self.query_one("#loss", PlotextPlot)
        plots.loss_curves(plot.plt, series, title)
        plot.refresh()

    def action_view(self) -> None:
        self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)]
        self.render_view()

    def action_task(self) -> None:
        tasks = self.tasks()
        if tasks:
            i = tasks.index(self.plot_task) if self.plot_task in tasks else -1
            self.plot_task = tasks[(i + 1) % len(tasks)]
            self.render_view()

    def action_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.render_table()

    def action_group(self) -> None:
        self.group = GROUPS[(GROUPS.index(self.group) + 1) % len(GROUPS)]
        self.render_table()

    def action_experiment(self) -> None:
        ids = [e["id"] for e in self._experiments]
        if ids:
            i = ids.index(self.experiment_id) if self.experiment_id in ids else -1
            self.experiment_id = ids[(i + 1) % len(ids)]
            self.reload()

    def action_open_run(self) -> None:
        from pcclip_tui.screens.run_detail import RunDetailScreen

        arm = self.selected_arm()
        if arm is None or self.experiment_id is None:
            return
        with closing(queries.connect(self.db)) as conn:
            runs = queries.arm_runs(conn, self.experiment_id, arm["llm"], arm["n"], arm["variant"])
        if runs:
            self.app.push_screen(RunDetailScreen(runs[0]["id"]))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_run()
