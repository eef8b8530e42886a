"""What the CLI and the TUI call: plan a spec into the store, launch a detached runner, cancel, retry."""

from __future__ import annotations

import sys
from pathlib import Path

from pcclip.errors import PcclipError
from pcclip.jobs import state
from pcclip.paths import workdir
from pcclip.spec import Spec, load_spec, spec_from_text
from pcclip.store.engine import open_store
from pcclip.store.tables import Experiment, ExperimentJob, Job


def prepare(db_path: str | Path, spec_path_or_name: str | Path | None, *, reset: bool = True) -> tuple[int, Spec]:
    """Validate the spec, plan it and write the experiment, its jobs and run rows. Returns (experiment id, spec)."""
    from pcclip.jobs.plan import materialize, plan_spec

    spec, text = load_spec(spec_path_or_name)
    store = open_store(db_path)
    try:
        exp_id = materialize(store, spec, text, plan_spec(spec), reset=reset)
    finally:
        store.close()
    return exp_id, spec


def experiment_spec(db_path: str | Path, experiment_id: int) -> Spec:
    store = open_store(db_path)
    try:
        with store.session() as s:
            exp = s.get(Experiment, experiment_id)
    finally:
        store.close()
    if exp is None:
        raise PcclipError(f"no experiment {experiment_id}; list them with `pcclip status`")
    return spec_from_text(exp.spec_text, f"experiment {experiment_id} ({exp.name})")


def start_runner(db_path: str | Path, experiment_id: int, jobs: int | None = None, executor: str | None = None) -> int:
    """Start a detached runner process for an experiment (it survives its caller); returns its pid."""
    from pcclip.jobs.executors import spawn_detached

    db = Path(db_path).absolute()
    cmd = [sys.executable, "-m", "pcclip.jobs.runner", "--db", str(db), "--experiment", str(experiment_id)]
    if jobs is not None:
        cmd += ["--jobs", str(jobs)]
    if executor is not None:
        cmd += ["--executor", executor]
    log = workdir(db) / "logs" / f"runner-{experiment_id}.log"
    return spawn_detached(cmd, log).pid


def launch(
    db_path: str | Path, spec_path_or_name: str | Path | None, jobs: int | None = None, executor: str | None = None
) -> int:
    """Plan a spec and run it in the background; returns the experiment id at once.

    Workers and the runner are detached: closing the caller (a TUI, a terminal) never stops a job.
    If a runner already serves the experiment, the new jobs join it.
    """
    from pcclip.jobs.runner import runner_active

    exp_id, _spec = prepare(db_path, spec_path_or_name)
    if not runner_active(Path(db_path).absolute(), exp_id):
        start_runner(db_path, exp_id, jobs, executor)
    return exp_id


def _experiments_of(store, job_id: int) -> list[int]:
    from sqlmodel import select

    with store.session() as s:
        return list(s.exec(select(ExperimentJob.experiment_id).where(ExperimentJob.job_id == job_id)).all())


def cancel_job(db_path: str | Path, job_id: int) -> str:
    """Cancel one job: at once if it has not started, else at the worker's next progress report (within a
    heartbeat). Jobs that depend on it stay pending until it is retried. Returns the job's new status."""
    store = open_store(db_path)
    try:
        if state.get(store, job_id) is None:
            raise PcclipError(f"no job {job_id}; list jobs with `pcclip status`")
        return state.request_cancel(store, job_id)
    finally:
        store.close()


def cancel_experiment(db_path: str | Path, experiment_id: int) -> dict[str, int]:
    """Cancel every unfinished job of an experiment (jobs it shares with others are cancelled too)."""
    store = open_store(db_path)
    try:
        with store.session() as s:
            if s.get(Experiment, experiment_id) is None:
                raise PcclipError(f"no experiment {experiment_id}; list them with `pcclip status`")
        out: dict[str, int] = {}
        # Pending ones first, so no worker starts them while the running ones stop.
        jobs = sorted(state.experiment_jobs(store, experiment_id), key=lambda j: j.status != "pending")
        for j in jobs:
            if j.status in state.FINAL or j.status == "cancelling":
                continue
            st = state.request_cancel(store, j.id)
            out[st] = out.get(st, 0) + 1
        return out
    finally:
        store.close()


def retry_job(db_path: str | Path, job_id: int, *, start: bool = True) -> str:
    """Put a failed or cancelled job back to pending with a fresh attempt budget, and (with `start`) make sure a
    runner serves its experiment. Returns the job's status."""
    from pcclip.jobs.runner import runner_active

    store = open_store(db_path)
    try:
        job = state.get(store, job_id)
        if job is None:
            raise PcclipError(f"no job {job_id}; list jobs with `pcclip status`")
        if job.status not in ("failed", "cancelled"):
            raise PcclipError(f"job {job_id} is {job.status}; only failed or cancelled jobs can be retried")
        state.reset_for_retry(store, job_id)
        exps = _experiments_of(store, job_id)
    finally:
        store.close()
    if start:
        for exp in exps[:1]:
            if not runner_active(Path(db_path).absolute(), exp):
                start_runner(db_path, exp)
    return "pending"


def find_experiment(db_path: str | Path, name_or_id: str | None) -> Experiment | None:
    """An experiment by id or name (the latest with that name); None = the latest of all."""
    from sqlmodel import select

    store = open_store(db_path, readonly=True)
    try:
        with store.session() as s:
            q = select(Experiment).order_by(Experiment.id.desc())
            if name_or_id is None:
                return s.exec(q).first()
            if str(name_or_id).isdigit():
                return s.get(Experiment, int(name_or_id))
            return s.exec(q.where(Experiment.name == name_or_id)).first()
    finally:
        store.close()


__all__ = [
    "Job",
    "cancel_experiment",
    "cancel_job",
    "experiment_spec",
    "find_experiment",
    "launch",
    "prepare",
    "retry_job",
    "start_runner",
]
