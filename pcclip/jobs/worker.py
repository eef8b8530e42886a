"""The worker process: `python -m pcclip.jobs.worker --db FILE --job ID [--experiment ID]`.

It claims the job (a guarded UPDATE: two workers never run one job), records its pid, host and log file,
heartbeats from a thread (liveness, progress, message; it also notices a cancel asked through the store), runs
the job kind, and records the final status: done; failed with the traceback; or cancelled. SIGINT/SIGTERM stop
the job at its next progress report (the step functions checkpoint between reports), mark it cancelled and end
the process. With `--experiment`, the worker then claims further ready jobs of that experiment, so torch is
imported once per worker rather than once per job.

Each job's output (Python and C level, e.g. llama.cpp) goes to its own log file under `workdir(db)/logs/`.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

from pcclip.paths import workdir
from pcclip.store.engine import Store, open_store

# A step that reports no progress this long after a cancel is interrupted (KeyboardInterrupt in its thread).
CANCEL_GRACE_S = float(os.environ.get("PCCLIP_CANCEL_GRACE_S", "30"))


class JobCancelled(BaseException):
    """Raised from the progress callback once a cancel was asked (BaseException: steps must not swallow it)."""


class _Signals:
    """SIGINT/SIGTERM: first one asks the running job to stop at its next progress report."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.event = threading.Event()
        self.force = False  # set by the heartbeat when a cancelled step ignores it past the grace period

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, _frame) -> None:
        if self.received is not None or self.force:  # second signal, or past the grace period: stop now
            raise KeyboardInterrupt
        self.received = signum
        self.event.set()


class _Heartbeat(threading.Thread):
    def __init__(self, store: Store, job_id: int, interval: float, cancel: threading.Event, signals: _Signals) -> None:
        super().__init__(daemon=True, name=f"heartbeat-{job_id}")
        self.store, self.job_id, self.interval, self.cancel = store, job_id, interval, cancel
        self.signals = signals
        self.stop = threading.Event()
        self.progress = 0.0
        self.message = "started"
        self.cancel_seen_at: float | None = None

    def run(self) -> None:
        from pcclip.jobs import state

        pid = os.getpid()
        while not self.stop.wait(self.interval):
            try:
                status = state.heartbeat(self.store, self.job_id, pid, self.progress, self.message)
            except Exception:  # a busy or briefly unavailable store must not kill the job; retry next beat
                continue
            if status == "cancelling" or self.signals.event.is_set():
                self.cancel.set()
            if self.cancel.is_set():
                self.cancel_seen_at = self.cancel_seen_at or time.monotonic()
                if time.monotonic() - self.cancel_seen_at > CANCEL_GRACE_S:
                    # The step reports no progress: a real signal to the main thread interrupts even a sleep.
                    self.signals.force = True
                    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
                    self.cancel_seen_at = time.monotonic()


@contextlib.contextmanager
def _redirect_output(log: Path) -> Iterator[None]:
    """Point fds 1 and 2 (Python and C code alike) at the job's log file."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    fh = open(log, "ab", buffering=0)  # noqa: SIM115  (closed in finally)
    try:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        fh.close()


def log_path_for(db: Path, job_id: int, key: str) -> Path:
    d = workdir(db) / "logs"
    d.mkdir(parents=True, exist_ok=True)
    return d / f"job-{job_id}-{key[:12]}.log"


def _device() -> str:
    # The runner placed this worker with CUDA_VISIBLE_DEVICES; inside, the first visible GPU is ours.
    vis = os.environ.get("CUDA_VISIBLE_DEVICES")
    if vis is not None and vis.strip() not in ("", "-1"):
        return "cuda"
    if vis is None and os.environ.get("PCCLIP_DEVICE"):
        return os.environ["PCCLIP_DEVICE"]
    return "cuda" if vis is None and _has_cuda_cheaply() else "cpu"


def _has_cuda_cheaply() -> bool:
    return Path("/dev/nvidiactl").exists()


def run_one(store: Store, job_id: int, *, heartbeat_s: float, signals: _Signals) -> str | None:
    """Claim and run one job; returns its final status, or None when it was not ours to run."""
    from pcclip.jobs import state
    from pcclip.jobs.kinds import JobContext, run_kind

    job = state.get(store, job_id)
    if job is None:
        return None
    log = log_path_for(store.path, job_id, job.key)
    claimed = state.claim(store, job_id, os.getpid(), str(log))
    if claimed is None:
        return None
    job = claimed.job
    pid = os.getpid()
    cancel = threading.Event()
    if signals.event.is_set():
        cancel.set()
    hb = _Heartbeat(store, job_id, heartbeat_s, cancel, signals)
    last_write = [0.0]

    def progress(done: float, total: float | None = None, message: str = "") -> None:
        if signals.event.is_set():
            cancel.set()
        if cancel.is_set():
            raise JobCancelled
        if total:
            hb.progress = max(0.0, min(1.0, float(done) / float(total)))
        if message:
            hb.message = message
        now = time.monotonic()
        if now - last_write[0] > 5:  # a line in the log now and then, for people tailing it
            last_write[0] = now
            print(f"[{time.strftime('%H:%M:%S')}] {hb.progress:6.1%} {hb.message}", flush=True)

    status, error = "done", None
    device = _device()
    with _redirect_output(log):
        print(
            f"=== job {job.id} ({job.kind}: {job.label}) attempt {job.attempt} pid {pid} on {state.HOST} "
            f"device {device} (CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '')}) "
            f"at {time.strftime('%Y-%m-%d %H:%M:%S')} ===",
            flush=True,
        )
        hb.start()
        ctx = JobContext(store, job, claimed.params, progress, device, workdir(store.path), cancel)
        try:
            run_kind(ctx)
        except (JobCancelled, KeyboardInterrupt):
            status, error = "cancelled", "cancelled" + (" by signal" if signals.received else "")
        except Exception:
            status, error = "failed", traceback.format_exc()
        hb.stop.set()
        hb.join()
        print(f"=== {status} at {time.strftime('%Y-%m-%d %H:%M:%S')} ===", flush=True)
        if error and status == "failed":
            print(error, flush=True)
    message = "done" if status == "done" else (error or "").strip().splitlines()[-1][:200]
    state.finish(store, job_id, pid, status, error=error, message=message)
    return status


def work(
    db: Path, job_id: int, experiment_id: int | None = None, *, heartbeat_s: float = 2.0, install_signals: bool = True
) -> int:
    """Run `job_id`, then (with `experiment_id`) further ready jobs of that experiment. Returns an exit code."""
    from pcclip.jobs import state

    signals = _Signals()
    if install_signals:
        signals.install()
    store = open_store(db)
    code = 0
    try:
        candidates: list[int] = [job_id]
        while candidates and not signals.event.is_set():
            ran = False
            for candidate in candidates:
                status = run_one(store, candidate, heartbeat_s=heartbeat_s, signals=signals)
                if status is not None:
                    ran = True
                    code = 1 if status == "failed" else code
                    break
            gc.collect()
            if not ran or experiment_id is None:
                break
            candidates = state.next_ready(store, experiment_id)
    finally:
        store.close()
    return 130 if signals.received else code


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pcclip.jobs.worker", description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, type=Path)
    ap.add_argument("--job", required=True, type=int)
    ap.add_argument("--experiment", type=int, default=None, help="then keep claiming this experiment's ready jobs")
    ap.add_argument("--heartbeat", type=float, default=2.0, help="seconds between heartbeats")
    args = ap.parse_args(argv)
    try:
        return work(args.db, args.job, args.experiment, heartbeat_s=args.heartbeat)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
