"""`pcclip run`, `status`, `results`, `export`, `cancel`, `retry`, `spec show|validate`: the ablation runner CLI."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from pcclip.cli.context import db_from
from pcclip.cli.output import Format, print_rows


class ExecutorChoice(str, Enum):
    local = "local"
    slurm = "slurm"
    submitit_local = "submitit-local"


class ExportFormat(str, Enum):
    csv = "csv"
    json = "json"


# ----------------------------------------------------------------------------------------------- run


def _progress_display():
    """A rich progress with one overall bar and one bar per running job."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}", justify="left"),
        BarColumn(bar_width=30),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}", style="dim"),
        transient=False,
    )


class _Display:
    def __init__(self, progress) -> None:
        self.p = progress
        self.overall = progress.add_task("[bold]all jobs", total=1, note="")
        self.per_job: dict[int, int] = {}

    def __call__(self, snap) -> None:
        done = snap.counts.get("done", 0)
        bad = snap.counts.get("failed", 0) + snap.counts.get("cancelled", 0)
        note = f"{snap.counts.get('running', 0)} running"
        if bad:
            note += f", {snap.counts.get('failed', 0)} failed, {snap.counts.get('cancelled', 0)} cancelled"
        if snap.blocked:
            note += f", {len(snap.blocked)} blocked"
        if snap.watching:
            note += " (another runner owns this experiment; watching)"
        self.p.update(self.overall, total=max(1, snap.total), completed=done, note=note)
        active = {j.id: j for j in snap.jobs if j.status in ("running", "cancelling")}
        for jid, tid in list(self.per_job.items()):
            if jid not in active:
                self.p.remove_task(tid)
                del self.per_job[jid]
        for jid, j in active.items():
            if jid not in self.per_job:
                self.per_job[jid] = self.p.add_task(f"  #{jid} {j.label}"[:48], total=1000, note="")
            self.p.update(self.per_job[jid], completed=int(1000 * (j.progress or 0)), note=(j.message or "")[:60])


def _run(
    ctx: typer.Context,
    spec: Optional[str] = typer.Argument(
        None, help="A bundled spec (testbed, paper, selftest) or a .toml path. Default: testbed."
    ),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", min=1, help="Jobs run at once (default: the spec's)."),
    executor: Optional[ExecutorChoice] = typer.Option(None, "--executor", help="Where jobs run (default: the spec's)."),
    detach: bool = typer.Option(False, "--detach", help="Start a background runner and return at once."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Draw the terminal plots after the tables."),
) -> None:
    """Run an ablation spec: plan its jobs, run them as worker processes, then print result tables and plots.

    Re-running the same command resumes: finished jobs are reused (whichever experiment made them), failed and
    cancelled ones run again. Ctrl-C stops watching; the running jobs go on in the background.
    """
    from rich.console import Console

    from pcclip.jobs import RunnerOptions, prepare, run_experiment
    from pcclip.jobs.api import start_runner

    db = db_from(ctx)
    console = Console(stderr=True)
    exp_id, sp = prepare(db, spec)
    if detach:
        start_runner(db, exp_id, jobs, executor.value if executor else None)
        typer.echo(f"experiment {exp_id} ({sp.name}) started in the background; follow it with `pcclip status`")
        return
    opts = RunnerOptions.from_spec(sp, jobs=jobs, executor=executor.value if executor else None)
    console.print(f"experiment [bold]{exp_id}[/] ({sp.name}): {opts.jobs} job(s) at once, executor {opts.executor}")
    try:
        with _progress_display() as progress:
            snap = run_experiment(db, exp_id, opts, on_update=_Display(progress))
    except KeyboardInterrupt:
        console.print(
            "[yellow]stopped watching; running jobs go on in the background[/] "
            f"(`pcclip status`, `pcclip cancel --experiment {exp_id}`; re-run to resume)"
        )
        raise typer.Exit(130) from None
    _report_failures(snap, console)
    _print_results(db, exp_id, sp.evaluation.plot_tasks, plots)
    if snap.counts.get("done", 0) != snap.total:
        raise typer.Exit(1)


def _report_failures(snap, console) -> None:
    bad = [j for j in snap.jobs if j.status in ("failed", "cancelled")]
    for j in bad[:10]:
        last = (j.error or "").strip().splitlines()[-1:] or [""]
        console.print(f"[red]{j.status}[/] job {j.id} ({j.label}): {last[0][:160]}  log: {j.log_path}")
    if len(bad) > 10:
        console.print(f"... and {len(bad) - 10} more (`pcclip status --failed`)")
    if snap.blocked:
        console.print(f"{len(snap.blocked)} job(s) wait on those; fix the cause and re-run (or `pcclip retry JOB`)")


def _summary_table(rows: list[dict]) -> tuple[list[str], list[list]]:
    cols = ["task", "llm", "N", "mean", "± se", "runs", "chance"]
    out = [
        [
            r["task"],
            r["llm"],
            r["n"],
            f"{r['mean']:.4f}",
            "" if r["stderr"] is None else f"{r['stderr']:.4f}",
            r["n_runs"],
            "" if r["chance"] is None else f"{r['chance']:.3f}",
        ]
        for r in rows
    ]
    return cols, out


def _print_results(db: Path, exp_id: int, plot_tasks: list[str], plots: bool) -> None:
    from pcclip.store import queries

    rows = queries.summary(db, exp_id)
    if not rows:
        typer.echo("no results yet")
        return
    shown = queries.match_tasks(plot_tasks, sorted({r["task"] for r in rows}))
    table_rows = [r for r in rows if r["task"] in shown] if shown else rows
    print_rows(*_summary_table(table_rows), title=f"experiment {exp_id}: mean ± standard error per arm")
    if plots:
        from pcclip import plots as P

        color = sys.stdout.isatty()
        for task in shown:
            typer.echo(P.figure_vs_n(rows, task, color=color))
            typer.echo(P.figure_bars(rows, task, color=color))
        points = P.tradeoff_points(rows)
        if len(points) > 1:
            typer.echo(P.figure_tradeoff(points, color=color))
    _print_quality_vs_lift(db, exp_id, plots)


def _print_quality_vs_lift(db: Path, exp_id: int, plots: bool) -> None:
    """Why an LLM arm lifts more: its comparisons' graded quality next to its accuracy lift (issue 8)."""
    from pcclip.store.quality import quality_lift_correlation, quality_vs_lift

    cols, rows = quality_vs_lift(db, exp_id)
    graded = [r for r in rows if r[cols.index("claim_precision")] is not None]
    if not graded:
        return

    def pct(v: float | None) -> str:
        return "" if v is None else f"{100 * v:.1f}"

    shown = ["arm", "n", "lift", "claim_precision", "diff_recall", "direction_error_rate", "hallucination_rate",
             "fully_correct_rate"]
    idx = [cols.index(c) for c in shown]
    out = [[r[idx[0]], r[idx[1]], *(pct(r[i]) for i in idx[2:])] for r in graded]
    heads = ["llm", "N", "lift pts", "precision %", "recall %", "reversed %", "halluc. %", "fully correct %"]
    print_rows(heads, out, title="comparison quality (graded against the records) vs difference-accuracy lift")
    corr = quality_lift_correlation(db, exp_id)
    if corr.get("pearson_r") is not None:
        typer.echo(
            f"correlation of lift with claim precision across {corr['n_points']} arm x N points: "
            f"Pearson r = {corr['pearson_r']:.2f} (p = {corr['pearson_p']:.2g}), "
            f"Spearman rho = {corr['spearman_rho']:.2f} (p = {corr['spearman_p']:.2g})"
        )
    if plots:
        from pcclip import plots as P

        ci, li = cols.index("claim_precision"), cols.index("lift")
        pts = [(r[0], r[2], float(r[ci]), float(r[li])) for r in graded]
        typer.echo(P.figure_lift_vs_quality(pts, color=sys.stdout.isatty()))


# ----------------------------------------------------------------------------------------------- status etc.


def _experiment_id(db: Path, experiment: Optional[str]) -> int:
    from pcclip.errors import PcclipError
    from pcclip.store import queries

    exp = queries.experiment(db, experiment)
    if exp is None:
        what = f"experiment {experiment!r}" if experiment else "experiment"
        raise PcclipError(f"no {what} in {db}; run `pcclip run` first")
    return int(exp["id"])


def _status(
    ctx: typer.Context,
    experiment: Optional[str] = typer.Argument(None, help="Experiment id or name (default: every experiment)."),
    failed: bool = typer.Option(False, "--failed", help="Only failed jobs, with their error's last line."),
    all_jobs: bool = typer.Option(False, "--jobs", help="List every job, not only unfinished ones."),
    fmt: Format = typer.Option(Format.table, "--format", help="table, csv or json."),
) -> None:
    """Experiments and their jobs: status, progress, heartbeat, attempts."""
    from pcclip.store import queries

    db = db_from(ctx)
    if experiment is None and not failed and not all_jobs:
        exps = queries.experiments(db)
        cols = ["id", "name", "jobs", "done", "running", "pending", "failed", "cancelled", "created_at"]
        out_e = [[e[c] for c in cols] for e in exps]
        if fmt is Format.table:
            out_e = [r[:-1] + [str(r[-1])[:16]] for r in out_e]
        print_rows(cols, out_e, fmt, title="experiments")
        exp_id = exps[0]["id"] if exps else None
        if exp_id is None:
            return
    else:
        exp_id = _experiment_id(db, experiment) if experiment else None
    rows = queries.jobs(db, exp_id)
    if failed:
        rows = [r for r in rows if r["status"] == "failed"]
    elif not all_jobs:
        rows = [r for r in rows if r["status"] not in ("done",)]
    if fmt is not Format.table:  # scripts get every column
        cols = list(rows[0].keys()) if rows else ["id", "kind", "label", "status"]
        print_rows(cols, [[r[c] for c in cols] for r in rows], fmt)
        return
    cols = ["id", "kind", "label", "status", "done", "try", "beat s", "message"]
    out = []
    for r in rows:
        msg = r["message"] or ""
        if r["status"] == "failed" and r["error"]:
            msg = r["error"].strip().splitlines()[-1] + f"  (log: {r['log_path']})"
        age = r["heartbeat_age_s"]
        out.append(
            [
                r["id"],
                r["kind"].removeprefix("selftest."),
                r["label"],
                r["status"],
                f"{100 * (r['progress'] or 0):.0f}%",
                r["attempt"],
                "" if age is None or r["status"] not in ("running", "queued", "cancelling") else f"{age:.0f}",
                msg[:100],
            ]
        )
    title = f"jobs of experiment {exp_id}" if exp_id else "jobs"
    print_rows(cols, out, fmt, title=title + ("" if all_jobs else " (unfinished)"))


def _results(
    ctx: typer.Context,
    experiment: Optional[str] = typer.Argument(None, help="Experiment id or name (default: the latest)."),
    task: Optional[list[str]] = typer.Option(None, "--task", help="Tasks to show ('diff/*' for a prefix)."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Draw the terminal plots."),
    fmt: Format = typer.Option(Format.table, "--format", help="table, csv or json (csv/json: no plots)."),
) -> None:
    """Per arm (LLM x N): mean ± standard error over training seeds, runs, chance; plots vs N and per LLM."""
    from pcclip.store import queries

    db = db_from(ctx)
    exp_id = _experiment_id(db, experiment)
    if fmt is not Format.table:
        rows = queries.summary(db, exp_id)
        if task:
            keep = queries.match_tasks(task, sorted({r["task"] for r in rows}))
            rows = [r for r in rows if r["task"] in keep]
        cols = list(rows[0].keys()) if rows else ["llm", "n", "task", "mean", "stderr"]
        print_rows(cols, [[r[c] for c in cols] for r in rows], fmt)
        return
    patterns = task
    if not patterns:
        from pcclip.jobs import experiment_spec

        patterns = experiment_spec(db, exp_id).evaluation.plot_tasks
    _print_results(db, exp_id, patterns, plots)


def _export(
    ctx: typer.Context,
    fmt: ExportFormat = typer.Option(ExportFormat.csv, "--format", help="csv or json."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write to this file (default: standard output)."),
    experiment: Optional[str] = typer.Option(None, "--experiment", help="Only this experiment (id or name)."),
    summary: bool = typer.Option(False, "--summary", help="Export the per-arm summary instead of every result row."),
) -> None:
    """Export results (the tidy `results` view, or `ablation_summary` with --summary) as CSV or JSON."""
    from pcclip.store import queries

    db = db_from(ctx)
    exp_id = _experiment_id(db, experiment) if experiment else None
    if summary:
        ids = [exp_id] if exp_id else [e["id"] for e in queries.experiments(db)]
        rows = [{"experiment_id": i, **r} for i in ids for r in queries.summary(db, i)]
    else:
        rows = queries.results(db, exp_id)
    cols = list(rows[0].keys()) if rows else ["experiment_id", "llm", "n", "task", "value"]
    f = Format.csv if fmt is ExportFormat.csv else Format.json
    if out is None:
        print_rows(cols, [[r[c] for c in cols] for r in rows], f)
        return
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        print_rows(cols, [[r[c] for c in cols] for r in rows], f, out=fh)
    tmp.replace(out)
    typer.echo(f"wrote {len(rows)} rows to {out}", err=True)


def _cancel(
    ctx: typer.Context,
    job: Optional[int] = typer.Argument(None, help="Job id."),
    experiment: Optional[str] = typer.Option(None, "--experiment", help="Cancel every unfinished job of this one."),
) -> None:
    """Cancel a job (or a whole experiment): running jobs stop at their next checkpoint and are marked cancelled."""
    from pcclip.errors import PcclipError
    from pcclip.jobs import cancel_experiment, cancel_job

    db = db_from(ctx)
    if (job is None) == (experiment is None):
        raise PcclipError("give a job id or --experiment ID (one of them)")
    if job is not None:
        typer.echo(f"job {job}: {cancel_job(db, job)}")
    else:
        exp_id = _experiment_id(db, experiment)
        counts = cancel_experiment(db, exp_id)
        typer.echo(f"experiment {exp_id}: " + (", ".join(f"{v} {k}" for k, v in counts.items()) or "nothing to cancel"))


def _retry(
    ctx: typer.Context,
    job: int = typer.Argument(..., help="Job id (failed or cancelled)."),
    start: bool = typer.Option(True, "--start/--no-start", help="Start a background runner if none serves it."),
) -> None:
    """Run a failed or cancelled job again (fresh attempt budget), in the background."""
    from pcclip.jobs import retry_job

    typer.echo(f"job {job}: {retry_job(db_from(ctx), job, start=start)}")


# ----------------------------------------------------------------------------------------------- spec

spec_app = typer.Typer(help="Ablation specs: show the bundled ones, validate yours.", no_args_is_help=True)


@spec_app.command("show")
def spec_show(name: Optional[str] = typer.Argument(None, help="Bundled spec name or path (default: testbed).")) -> None:
    """Print a spec's TOML and a summary of the jobs it plans."""
    from pcclip.jobs.plan import plan_spec
    from pcclip.spec import bundled_specs, load_spec

    spec, text = load_spec(name)
    typer.echo(text.rstrip())
    plan = plan_spec(spec)
    kinds: dict[str, int] = {}
    for j in plan.jobs:
        kinds[j.kind] = kinds.get(j.kind, 0) + 1
    typer.echo(f"# plan: {len(plan)} jobs (" + ", ".join(f"{v} {k}" for k, v in kinds.items()) + ")", err=True)
    typer.echo(f"# bundled specs: {', '.join(bundled_specs())}", err=True)


@spec_app.command("validate")
def spec_validate(path: str = typer.Argument(..., help="A spec file (or bundled name).")) -> None:
    """Check a spec: every problem on its own line (file, field, what was expected); exit 1 if any."""
    from pcclip.errors import PcclipError
    from pcclip.jobs.plan import plan_spec
    from pcclip.spec import SpecValidationError, load_spec

    try:
        spec, _text = load_spec(path)
    except SpecValidationError as exc:
        for line in exc.lines:
            typer.secho(line, err=True, fg="red")
        raise typer.Exit(1) from None
    except PcclipError as exc:
        typer.secho(str(exc), err=True, fg="red")
        raise typer.Exit(1) from None
    n = len(plan_spec(spec))
    typer.echo(
        f"{path}: ok ({spec.name}: {len(spec.llm)} LLM arm(s), N {spec.ablation.n}, "
        f"{len(spec.ablation.seeds)} seed(s), {n} jobs)"
    )


def register(root: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    root.command("run")(_run)
    root.command("status")(_status)
    root.command("results")(_results)
    root.command("export")(_export)
    root.command("cancel")(_cancel)
    root.command("retry")(_retry)
    root.add_typer(spec_app, name="spec")
