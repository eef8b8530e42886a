"""Job rows as a state machine, with every transition one guarded UPDATE (so racing processes cannot
both win): pending -> queued (a runner started a worker for it) -> running (the worker claimed it) ->
done | failed | cancelled; running -> cancelling (cancel asked) -> cancelled; a dead worker's job goes back
to pending (or to failed once its attempts are used up).

Statuses: pending, queued, running, cancelling, done, failed, cancelled.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import update
from sqlmodel import select

from pcclip.store.engine import Store
from pcclip.store.tables import ExperimentJob, Job

ACTIVE = ("queued", "running", "cancelling")
FINAL = ("done", "failed", "cancelled")
HOST = socket.gethostname()


def now() -> datetime:
    return datetime.now(timezone.utc)


def age_s(t: datetime | None) -> float:
    """Seconds since `t` (SQLite hands datetimes back naive; they are UTC)."""
    if t is None:
        return float("inf")
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return (now() - t).total_seconds()


def pid_alive(pid: int | None) -> bool:
    """Whether a process of this host runs (a zombie counts as dead)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _set(store: Store, job_id: int, where_status: tuple[str, ...], extra_where=(), **values) -> bool:
    with store.session() as s:
        stmt = update(Job).where(Job.id == job_id, Job.status.in_(where_status), *extra_where).values(**values)
        return s.exec(stmt).rowcount == 1  # type: ignore[call-overload]


def get(store: Store, job_id: int) -> Job | None:
    with store.session() as s:
        return s.get(Job, job_id)


def experiment_jobs(store: Store, experiment_id: int) -> list[Job]:
    with store.session() as s:
        stmt = (
            select(Job)
            .join(ExperimentJob, ExperimentJob.job_id == Job.id)
            .where(ExperimentJob.experiment_id == experiment_id)
            .order_by(Job.id)
        )
        return list(s.exec(stmt).all())


def by_key(store: Store, key: str) -> Job | None:
    with store.session() as s:
        return s.exec(select(Job).where(Job.key == key)).first()


# ----- runner side -----


def mark_queued(store: Store, job_id: int, pid: int | None = None) -> bool:
    """pending -> queued, just before a worker is started for it (the heartbeat starts counting now)."""
    return _set(store, job_id, ("pending",), status="queued", heartbeat_at=now(), pid=pid, host=HOST, message="")


def set_queued_pid(store: Store, job_id: int, pid: int) -> None:
    _set(store, job_id, ("queued",), pid=pid)


def unqueue(store: Store, job_id: int, message: str = "") -> bool:
    """queued -> pending (the worker never claimed it)."""
    return _set(store, job_id, ("queued",), status="pending", pid=None, message=message)


def recover_dead(store: Store, job: Job, max_attempts: int, why: str) -> str:
    """A worker is gone without finishing: retry its job, or fail it once its attempts are used up.

    Guarded on the pid and status we saw, so a worker that finishes meanwhile keeps its result.
    Returns the new status ('' if the row changed under us).
    """
    guard = (Job.pid == job.pid,) if job.pid is not None else (Job.pid.is_(None),)
    if job.status == "cancelling":
        new, values = "cancelled", {"error": f"cancelled; worker ended without confirming ({why})"}
    elif job.status == "queued":
        new, values = "pending", {"message": f"worker never started ({why}); queued again"}
    elif job.attempt >= max_attempts:
        new, values = "failed", {"error": f"worker died after {job.attempt} attempt(s): {why}"}
    else:
        new, values = "pending", {"message": f"attempt {job.attempt}: worker died ({why}); will retry"}
    ok = _set(store, job.id, (job.status,), guard, status=new, ended_at=now() if new in FINAL else None, **values)
    return new if ok else ""


def dead_reason(job: Job, stale_after_s: float, own_alive: set[int] | None = None) -> str:
    """Why an active job's worker looks dead, or '' if it looks alive."""
    if job.status not in ACTIVE:
        return ""
    if job.host == HOST and job.pid and (own_alive is None or job.pid not in own_alive) and not pid_alive(job.pid):
        return f"process {job.pid} is gone"
    a = age_s(job.heartbeat_at)
    if a > stale_after_s:
        return f"no heartbeat for {a:.0f} s (limit {stale_after_s:.0f} s)"
    return ""


def reset_for_retry(store: Store, job_id: int) -> bool:
    """failed | cancelled -> pending with a fresh attempt budget (the user asked for it)."""
    return _set(store, job_id, ("failed", "cancelled"), status="pending", attempt=0, error=None, message="retry asked")


def request_cancel(store: Store, job_id: int) -> str:
    """Cancel a job: not started -> cancelled at once; running -> cancelling (the worker stops at its next
    progress report, within a heartbeat). Returns the resulting status, or its current one if final."""
    if _set(
        store, job_id, ("pending", "queued"), status="cancelled", ended_at=now(), error="cancelled before it started"
    ):
        return "cancelled"
    if _set(store, job_id, ("running",), status="cancelling", message="cancel requested"):
        return "cancelling"
    job = get(store, job_id)
    return job.status if job else ""


# ----- worker side -----


@dataclass
class Claimed:
    job: Job
    params: dict
    deps: list[str]


def claim(store: Store, job_id: int, pid: int, log_path: str) -> Claimed | None:
    """queued | pending -> running for this process; None if someone else has it (or it is finished)."""
    with store.session() as s:
        job = s.get(Job, job_id)
        if job is None or job.status not in ("queued", "pending"):
            return None
        dep_keys = json.loads(job.deps_json)
        if dep_keys:
            deps = s.exec(select(Job.status).where(Job.key.in_(dep_keys))).all()
            if len(deps) != len(dep_keys) or any(st != "done" for st in deps):
                return None
        stmt = (
            update(Job)
            .where(Job.id == job_id, Job.status.in_(("queued", "pending")))
            .values(
                status="running",
                pid=pid,
                host=HOST,
                attempt=Job.attempt + 1,
                started_at=now(),
                heartbeat_at=now(),
                ended_at=None,
                progress=0.0,
                message="started",
                error=None,
                log_path=log_path,
            )
        )
        if s.exec(stmt).rowcount != 1:  # type: ignore[call-overload]
            return None
    job = get(store, job_id)
    assert job is not None
    return Claimed(job, json.loads(job.params_json), json.loads(job.deps_json))


def next_ready(store: Store, experiment_id: int) -> list[int]:
    """Pending jobs of an experiment whose dependencies are all done, in plan order."""
    jobs = experiment_jobs(store, experiment_id)
    done = {j.key for j in jobs if j.status == "done"}
    # Dependencies may be jobs of other experiments too (shared keys): look those up.
    missing = {k for j in jobs if j.status == "pending" for k in json.loads(j.deps_json)} - {j.key for j in jobs}
    if missing:
        with store.session() as s:
            done |= set(s.exec(select(Job.key).where(Job.key.in_(missing), Job.status == "done")).all())
    return [j.id for j in jobs if j.status == "pending" and all(k in done for k in json.loads(j.deps_json))]


def heartbeat(store: Store, job_id: int, pid: int, progress: float, message: str) -> str | None:
    """Record liveness and progress; returns the job's status as stored (to see a cancel request)."""
    with store.session() as s:
        s.exec(
            update(Job)
            .where(Job.id == job_id, Job.pid == pid, Job.status.in_(("running", "cancelling")))
            .values(heartbeat_at=now(), progress=progress, message=message[:500])
        )
        return s.exec(select(Job.status).where(Job.id == job_id)).first()


def finish(store: Store, job_id: int, pid: int, status: str, error: str | None = None, message: str = "") -> bool:
    values = {"status": status, "ended_at": now(), "heartbeat_at": now(), "error": error}
    if status == "done":
        values["progress"] = 1.0
    if message:
        values["message"] = message[:500]
    return _set(store, job_id, ("running", "cancelling"), (Job.pid == pid,), **values)
