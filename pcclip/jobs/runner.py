"""The runner: keeps up to K workers busy on an experiment's ready jobs until nothing more can run.

State lives in the store, not in this process: killing the runner loses nothing (its workers, detached, go on
and record their results), and running it again picks up where things are. One runner per experiment holds
a lock file; a second one only watches.

`python -m pcclip.jobs.runner --db FILE --experiment ID [--jobs K] [--executor local|slurm|submitit-local]`
is what `pcclip.jobs.launch` starts in the background.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pcclip.jobs import state
from pcclip.jobs.executors import Handle, make_executor, visible_gpus
from pcclip.paths import workdir
from pcclip.store.engine import Store, open_store
from pcclip.store.tables import Job


@dataclass
class RunnerOptions:
    jobs: int = 1
    executor: str = "local"
    max_attempts: int = 3
    heartbeat_s: float = 2.0
    stale_after_s: float = 60.0
    devices: list[int] | None = None
    slurm: dict[str, Any] = field(default_factory=dict)
    poll_s: float = 0.5

    @classmethod
    def from_spec(cls, spec: Any, **overrides: Any) -> RunnerOptions:
        ex = spec.executor
        opts = cls(
            jobs=ex.jobs,
            executor=ex.kind,
            max_attempts=ex.max_attempts,
            heartbeat_s=ex.heartbeat_s,
            stale_after_s=ex.stale_after_s,
            devices=ex.devices,
            slurm=ex.slurm.model_dump(),
        )
        for k, v in overrides.items():
            if v is not None:
                setattr(opts, k, v)
        return opts


@dataclass
class Snapshot:
    """What a progress display needs, once per poll."""

    jobs: list[Job]
    counts: dict[str, int]
    blocked: set[int]
    watching: bool  # another runner owns the experiment; this one only watches

    @property
    def total(self) -> int:
        return len(self.jobs)

    @property
    def finished(self) -> bool:
        return all(j.status in state.FINAL or j.id in self.blocked for j in self.jobs)


def blocked_jobs(jobs: list[Job], extra_status: dict[str, str] | None = None) -> set[int]:
    """Pending jobs that can never run: a dependency failed or was cancelled (transitively)."""
    status = {j.key: j.status for j in jobs} | (extra_status or {})
    deps = {j.key: json.loads(j.deps_json) for j in jobs}
    bad: set[str] = {k for k, s in status.items() if s in ("failed", "cancelled")}
    changed = True
    while changed:
        changed = False
        for j in jobs:
            if j.status == "pending" and j.key not in bad and any(d in bad for d in deps[j.key]):
                bad.add(j.key)
                changed = True
    return {j.id for j in jobs if j.status == "pending" and j.key in bad}


class _Lock:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(path, "a+")  # noqa: SIM115  (held for the runner's lifetime)

    def try_acquire(self) -> bool:
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self.fh.seek(0)
        self.fh.truncate()
        self.fh.write(str(os.getpid()))
        self.fh.flush()
        return True

    def release(self) -> None:
        self.fh.close()


def lock_path(db: Path, experiment_id: int) -> Path:
    return workdir(db) / "locks" / f"experiment-{experiment_id}.lock"


def runner_active(db: Path, experiment_id: int) -> bool:
    """Whether some runner process holds this experiment's lock."""
    p = lock_path(db, experiment_id)
    if not p.exists():
        return False
    lk = _Lock(p)
    try:
        return not lk.try_acquire()
    finally:
        lk.release()


def _external_dependency_status(store: Store, jobs: list[Job]) -> dict[str, str]:
    """Status of dependencies that belong to other experiments only (shared job keys)."""
    from sqlmodel import select

    have = {j.key for j in jobs}
    missing = {k for j in jobs for k in json.loads(j.deps_json)} - have
    if not missing:
        return {}
    with store.session() as s:
        return dict(s.exec(select(Job.key, Job.status).where(Job.key.in_(missing))).all())


def run_experiment(
    db: Path,
    experiment_id: int,
    options: RunnerOptions,
    on_update: Callable[[Snapshot], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Snapshot:
    """Run (or, if another runner owns it, watch) an experiment until no job can make progress."""
    store = open_store(db)
    lock = _Lock(lock_path(store.path, experiment_id))
    owner = lock.try_acquire()
    executor = None  # made on first use: a finished experiment needs no Slurm to be shown
    gpus = options.devices if options.devices is not None else (visible_gpus() if options.executor == "local" else [])
    handles: dict[int, tuple[Handle, int | None]] = {}  # first job id -> (worker, device)
    finished_at: float | None = None
    try:
        while True:
            jobs = state.experiment_jobs(store, experiment_id)
            own_alive: set[int] = set()
            for jid, (h, _dev) in list(handles.items()):
                if h.alive():
                    if h.pid:
                        own_alive.add(h.pid)
                else:
                    del handles[jid]
            if owner:
                changed = False
                for j in jobs:
                    if j.status == "queued" and j.id in handles:
                        continue  # our worker for it is alive (maybe waiting in a Slurm queue): not stale
                    why = state.dead_reason(j, options.stale_after_s, own_alive)
                    if why:
                        state.recover_dead(store, j, options.max_attempts, why)
                        changed = True
                if changed:
                    jobs = state.experiment_jobs(store, experiment_id)
                ext = _external_dependency_status(store, jobs)
                done_keys = {j.key for j in jobs if j.status == "done"} | {k for k, s in ext.items() if s == "done"}
                ready = [
                    j for j in jobs if j.status == "pending" and all(d in done_keys for d in json.loads(j.deps_json))
                ]
                # Workers started by an earlier (killed) runner still count against K.
                foreign = {j.pid for j in jobs if j.status in state.ACTIVE and j.pid and j.pid not in own_alive}
                free = options.jobs - len(handles) - len(foreign)
                if ready[: max(0, free)] and executor is None:
                    executor = make_executor(
                        options.executor, store.path, options.heartbeat_s, options.slurm, options.jobs
                    )
                for j in ready[: max(0, free)]:
                    if not state.mark_queued(store, j.id):
                        continue
                    device = _pick_device(gpus, [d for _h, d in handles.values()])
                    try:
                        h = executor.submit(j.id, experiment_id, device)  # type: ignore[union-attr]
                    except Exception as exc:
                        state.unqueue(store, j.id, f"could not start a worker: {exc}")
                        raise
                    if h.pid:
                        state.set_queued_pid(store, j.id, h.pid)
                    handles[j.id] = (h, device)
                if ready[: max(0, free)]:
                    jobs = state.experiment_jobs(store, experiment_id)
            else:
                owner = lock.try_acquire()  # the other runner ended: take over
                if owner:
                    continue
            snap = _snapshot(store, jobs, not owner)
            if on_update:
                on_update(snap)
            if snap.finished:
                # Every job is final: give our workers a moment to exit (and be reaped), but never wait on one
                # that hangs; its job was already recovered, and it is detached anyway.
                finished_at = finished_at or time.monotonic()
                if not handles or time.monotonic() - finished_at > 3:
                    return snap
            else:
                finished_at = None
            if should_stop and should_stop():
                return snap
            time.sleep(options.poll_s)
    finally:
        lock.release()
        store.close()


def _pick_device(gpus: list[int], in_use: list[int | None]) -> int | None:
    if not gpus:
        return None
    return min(gpus, key=lambda g: (in_use.count(g), g))


def _snapshot(store: Store, jobs: list[Job], watching: bool) -> Snapshot:
    counts: dict[str, int] = {}
    for j in jobs:
        counts[j.status] = counts.get(j.status, 0) + 1
    return Snapshot(jobs, counts, blocked_jobs(jobs, _external_dependency_status(store, jobs)), watching)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pcclip.jobs.runner", description="Run an experiment's jobs.")
    ap.add_argument("--db", required=True, type=Path)
    ap.add_argument("--experiment", required=True, type=int)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--executor", default=None, choices=["local", "slurm", "submitit-local"])
    args = ap.parse_args(argv)
    from pcclip.jobs.api import experiment_spec

    spec = experiment_spec(args.db, args.experiment)
    opts = RunnerOptions.from_spec(spec, jobs=args.jobs, executor=args.executor)
    snap = run_experiment(args.db, args.experiment, opts)
    print(json.dumps(snap.counts), flush=True)
    return 0 if snap.counts.get("done", 0) == snap.total else 1


if __name__ == "__main__":
    sys.exit(main())
