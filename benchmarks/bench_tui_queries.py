"""Time every query the TUI issues on a large database (target: each under 100 ms), and the TUI's start.

    .venv/bin/python benchmarks/make_big_db.py /tmp/big.db
    .venv/bin/python benchmarks/bench_tui_queries.py /tmp/big.db            # queries
    .venv/bin/python benchmarks/bench_tui_queries.py /tmp/big.db --startup  # first frame (target: under 1 s)

Each query runs on a fresh read-only connection, as the TUI's workers do; the figure is the median of 5 runs.
The baseline measured in the same run is a full scan of the metric table (`SELECT count(*), sum(value)`), so the
ratio column says how each query compares to touching every metric row on this machine right now.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from pcclip_tui import queries

BUDGET_MS = 100.0


def timed(db: Path, fn: Callable, repeat: int = 5) -> tuple[float, int]:
    times, n = [], 0
    for _ in range(repeat):
        with closing(queries.connect(db)) as conn:
            t = time.perf_counter()
            out = fn(conn)
            times.append((time.perf_counter() - t) * 1000)
        n = len(out) if isinstance(out, (list, dict)) else 1
    return statistics.median(times), n


BARE_APP = r"""
import json, time
t0 = time.perf_counter()
from textual.app import App
from textual.widgets import Footer, Static

class Hello(App):
    def compose(self):
        yield Static("hello")
        yield Footer()

    def on_mount(self):
        self.call_after_refresh(self.done)

    def done(self):
        self.t = time.perf_counter() - t0
        self.exit()

app = Hello()
app.run(headless=True, size=(80, 24))
print("PROBE=" + json.dumps({"first_paint_s": app.t}))
"""


def _probe(code: str, *args: str) -> dict:
    import json
    import subprocess
    import sys

    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - t
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("PROBE=")]
    if not line:
        raise SystemExit(out.stderr[-2000:])
    marks = json.loads(line[-1][len("PROBE=") :])
    marks["process_wall_s"] = wall
    return marks


def startup(db: Path, repeat: int = 5) -> None:
    """pcclip-tui's first frame against a bare Textual app's, alternating, in fresh interpreters."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from tui_helpers import STARTUP_PROBE  # the probe the startup test uses

    ours, bare = [], []
    for _ in range(repeat):
        ours.append(_probe(STARTUP_PROBE, str(db)))
        bare.append(_probe(BARE_APP))
    heavy = {"torch", "open_clip", "sqlalchemy", "sqlmodel", "plotext"} & set(ours[-1]["modules_at_first_paint"])

    def med(rows: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    print(f"pcclip-tui on {db} (median of {repeat}, fresh interpreter each; times from the script's first line)")
    for key in ("import_s", "first_paint_s", "rows_shown_s", "process_wall_s"):
        print(f"  {key:16} {med(ours, key):6.3f} s")
    print(
        f"bare Textual app (Static + Footer): first_paint_s {med(bare, 'first_paint_s'):6.3f} s, "
        f"process_wall_s {med(bare, 'process_wall_s'):6.3f} s"
    )
    print(f"ratio first paint pcclip-tui / bare: {med(ours, 'first_paint_s') / med(bare, 'first_paint_s'):.2f}")
    print(f"heavy modules at first paint: {sorted(heavy) or 'none'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db", type=Path)
    ap.add_argument("--startup", action="store_true", help="time the first frame instead of the queries")
    args = ap.parse_args()
    db = args.db
    if args.startup:
        startup(db)
        return
    with closing(queries.connect(db)) as conn:
        exp = conn.execute(
            "SELECT experiment_id FROM experiment_job GROUP BY experiment_id ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
        run = conn.execute("SELECT run_id FROM metric ORDER BY run_id DESC LIMIT 1").fetchone()[0]
        arm = conn.execute("SELECT arm, n, variant FROM run WHERE id = ?", (run,)).fetchone()
        pool = conn.execute(
            "SELECT pool_id FROM comparison GROUP BY pool_id ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
        cmp_id = conn.execute("SELECT max(id) FROM comparison").fetchone()[0]
        job_id = conn.execute("SELECT max(id) FROM job").fetchone()[0]
    cases: list[tuple[str, Callable]] = [
        ("counts (empty-state check)", queries.counts),
        ("experiments", queries.experiments),
        ("experiment", lambda c: queries.experiment(c, exp)),
        ("experiment_runs", lambda c: queries.experiment_runs(c, exp)),
        ("jobs (all)", queries.jobs),
        ("jobs (status=failed)", lambda c: queries.jobs(c, status="failed")),
        ("jobs (experiment)", lambda c: queries.jobs(c, experiment_id=exp)),
        ("job_counts", queries.job_counts),
        ("job", lambda c: queries.job(c, job_id)),
        ("runs_of_job (eval job)", lambda c: queries.runs_of_job(c, job_id)),
        ("experiment_job_kinds", lambda c: queries.experiment_job_kinds(c, exp)),
        ("datasets", queries.datasets),
        ("dataset", lambda c: queries.dataset(c, 1)),
        ("pools", queries.pools),
        ("comparisons (all)", lambda c: queries.comparisons(c, pool)),
        ("comparisons (rejected)", lambda c: queries.comparisons(c, pool, "rejected")),
        ("comparisons (search)", lambda c: queries.comparisons(c, pool, "all", "circles than the second (19")),
        ("comparison", lambda c: queries.comparison(c, cmp_id)),
        ("result_experiments", queries.result_experiments),
        ("ablation_summary", lambda c: queries.ablation_summary(c, exp)),
        ("arm_runs", lambda c: queries.arm_runs(c, exp, arm[0], arm[1], arm[2])),
        ("metric_series", lambda c: queries.metric_series(c, run, "loss")),
        ("metric_names", lambda c: queries.metric_names(c, run)),
        ("run_detail", lambda c: queries.run_detail(c, run)),
    ]
    base_ms, _ = timed(db, lambda c: c.execute("SELECT count(*), sum(value) FROM metric").fetchall())
    n_runs = queries.connect(db).execute("SELECT count(*) FROM run").fetchone()[0]
    n_metric = queries.connect(db).execute("SELECT count(*) FROM metric").fetchone()[0]
    print(f"database {db}: {n_runs:,} runs, {n_metric:,} metric rows")
    print(f"baseline: full scan of metric = {base_ms:.1f} ms\n")
    print(f"{'query':32} {'rows':>6} {'ms':>8} {'/scan':>7}  budget {BUDGET_MS:.0f} ms")
    worst = 0.0
    for name, fn in cases:
        ms, n = timed(db, fn)
        worst = max(worst, ms)
        print(f"{name:32} {n:6d} {ms:8.2f} {ms / base_ms:7.3f}  {'ok' if ms < BUDGET_MS else 'OVER'}")
    print(
        f"\nslowest query: {worst:.1f} ms ({'all under' if worst < BUDGET_MS else 'NOT all under'} {BUDGET_MS:.0f} ms)"
    )


if __name__ == "__main__":
    main()
