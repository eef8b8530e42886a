"""Shared helpers for the runner tests: selftest specs, the real CLI in a subprocess, and process hygiene."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomli_w

from pcclip.paths import workdir


def selftest_spec(
    path: Path,
    *,
    name: str = "st",
    llms: tuple[str, ...] = ("oracle", "smollm2-135m"),
    n: tuple[int, ...] = (0, 10, 100),
    seeds: tuple[int, ...] = (0,),
    steps: int = 4,
    step_seconds: float = 0.05,
    metrics_per_step: int = 1,
    jobs: int = 2,
    executor: str = "local",
    heartbeat_s: float = 0.5,
    stale_after_s: float = 20.0,
    max_attempts: int = 3,
    pool_size: int | None = None,
    devices: list[int] | None = None,
) -> Path:
    """Write a selftest spec (the ablation DAG with no models) and return its path."""
    presets = {
        "oracle": {"backend": "template"},
        "smollm2-135m": {"backend": "llama_cpp", "model": "smollm2-135m"},
        "gemma3-270m": {"backend": "llama_cpp", "model": "gemma3-270m"},
    }
    data: dict[str, Any] = {
        "name": name,
        "dataset": {"pool_size": pool_size or max(max(n), 1)},
        "llm": [{"name": x, **presets[x]} for x in llms],
        "ablation": {"n": list(n), "seeds": list(seeds)},
        "selftest": {"steps": steps, "step_seconds": step_seconds, "metrics_per_step": metrics_per_step},
        "executor": {
            "kind": executor,
            "jobs": jobs,
            "heartbeat_s": heartbeat_s,
            "stale_after_s": stale_after_s,
            "max_attempts": max_attempts,
            **({"devices": devices} if devices is not None else {}),
        },
    }
    path.write_text(tomli_w.dumps(data))
    return path


def pcclip(db: Path, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess."""
    env = dict(os.environ, COLUMNS="120")
    out = subprocess.run(
        [sys.executable, "-m", "pcclip", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if check and out.returncode != 0:
        raise AssertionError(f"pcclip {' '.join(args)} exited {out.returncode}\n{out.stdout}\n{out.stderr}")
    return out


def rows(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(db, timeout=60)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def poll_rows(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """`rows`, or [] while the database is still being created by another process."""
    if not db.exists():
        return []
    try:
        return rows(db, sql, params)
    except sqlite3.OperationalError:
        return []


def wait_for(pred: Callable[[], Any], timeout: float = 60, every: float = 0.1) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout} s")


def result_fingerprint(db: Path) -> list[tuple]:
    """Every result and metric, keyed by what identifies it (not by row ids), for run-to-run comparison."""
    res = rows(
        db,
        "SELECT ru.arm, ru.n, ru.seed, r.task, r.seed, r.metric, r.value FROM result r JOIN run ru ON ru.id = r.run_id "
        "ORDER BY 1, 2, 3, 4, 5, 6",
    )
    met = rows(
        db,
        "SELECT ru.arm, ru.n, ru.seed, m.step, m.name, m.value FROM metric m JOIN run ru ON ru.id = m.run_id "
        "ORDER BY 1, 2, 3, 4, 5",
    )
    return res + [("metric", *m) for m in met]


def assert_clean(db: Path) -> None:
    """integrity_check ok and no duplicate logical rows."""
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert not rows(db, "SELECT key FROM job GROUP BY key HAVING COUNT(*) > 1")
    assert not rows(db, "SELECT job_id FROM run WHERE job_id IS NOT NULL GROUP BY job_id HAVING COUNT(*) > 1")
    assert not rows(db, "SELECT run_id, task, seed, metric FROM result GROUP BY 1, 2, 3, 4 HAVING COUNT(*) > 1")
    assert not rows(db, "SELECT run_id, name, step FROM metric GROUP BY 1, 2, 3 HAVING COUNT(*) > 1")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def kill_leftovers(db: Path) -> None:
    """Kill worker and runner processes a test started for this database (by pid, checking their command line)."""
    pids: set[int] = set()
    pids |= {p for (p,) in poll_rows(db, "SELECT DISTINCT pid FROM job WHERE pid IS NOT NULL")}
    locks = workdir(db) / "locks"
    if locks.is_dir():
        for f in locks.glob("*.lock"):
            txt = f.read_text().strip()
            if txt.isdigit():
                pids.add(int(txt))
    for pid in pids:
        cmd = _cmdline(pid)
        if "pcclip.jobs" in cmd and str(db) in cmd:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def concurrent_reader(db: Path, every: float = 0.005):
    """Query the store the way `pcclip status/results` do, in a thread, while the caller writes to it.

    Yields a dict whose `reads` counts completed rounds and `errors` lists every failure except the store not
    existing yet (a reader may start before the runner has created it)."""
    from pcclip.store import queries

    state: dict[str, Any] = {"reads": 0, "errors": []}
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                exps = queries.experiments(db) if db.exists() else []
                if exps:
                    queries.summary(db, exps[0]["id"])
                    queries.jobs(db, exps[0]["id"])
                    queries.results(db, exps[0]["id"])
                    state["reads"] += 1
            except Exception as exc:
                if "no such table" not in str(exc) and "empty database" not in str(exc):
                    state["errors"].append(repr(exc))
            time.sleep(every)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        yield state
    finally:
        stop.set()
        t.join(10)
