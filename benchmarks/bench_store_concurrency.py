"""8 workers write metrics into one store while results are queried: count "database is locked" errors and lost rows.

Our path: `pcclip run` on a selftest spec (the runner's health check) with 8 worker processes, each writing
`steps x metrics` metric rows through the store (BEGIN IMMEDIATE, busy timeout), while this process queries the
summary, jobs and results views in a loop. Baseline, same run: 8 processes doing the same inserts with plain
sqlite3 defaults (deferred transactions that read before they write, 5 s timeout), the pattern that fails with
"database is locked" under contention.

    .venv/bin/python benchmarks/bench_store_concurrency.py [--steps 50] [--metrics 40]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from runner_helpers import concurrent_reader, kill_leftovers, rows, selftest_spec  # noqa: E402


def ours(tmp: Path, steps: int, metrics: int) -> dict:
    db = tmp / "ours.db"
    spec = selftest_spec(
        tmp / "s.toml",
        llms=("oracle",),
        n=(0, 10, 20, 30, 40),
        seeds=(0, 1),
        steps=steps,
        step_seconds=0.01,
        metrics_per_step=metrics,
        jobs=8,
    )
    t0 = time.perf_counter()
    try:
        with concurrent_reader(db) as reader:
            subprocess.run(
                [sys.executable, "-m", "pcclip", "--db", str(db), "run", str(spec), "--no-plots"],
                check=True,
                capture_output=True,
                timeout=900,
            )
    finally:
        kill_leftovers(db)
    wall = time.perf_counter() - t0
    logs = (tmp / ".pcclip" / "ours" / "logs").glob("*.log")
    locked = sum(p.read_text().count("database is locked") for p in logs)
    expected = 8 * steps * metrics
    got = rows(db, "SELECT COUNT(*) FROM metric")[0][0]
    failed = rows(db, "SELECT COUNT(*) FROM job WHERE status != 'done'")[0][0]
    return {
        "wall_s": wall,
        "expected": expected,
        "written": got,
        "locked": locked + sum("locked" in e for e in reader["errors"]),
        "reader_errors": len(reader["errors"]),
        "reads": reader["reads"],
        "jobs_not_done": failed,
    }


def _naive_writer(db: str, wid: int, steps: int, metrics: int, out: mp.Queue) -> None:
    conn = sqlite3.connect(db)  # defaults: deferred transactions, 5 s timeout
    ok = locked = 0
    for step in range(steps):
        try:
            conn.execute("BEGIN")
            conn.execute("SELECT COUNT(*) FROM metric WHERE run_id = ?", (wid,)).fetchone()  # read, then write
            conn.executemany(
                "INSERT INTO metric (run_id, step, name, value) VALUES (?, ?, ?, ?)",
                [(wid, step, f"m{m}", 0.5) for m in range(metrics)],
            )
            conn.execute("COMMIT")
            ok += metrics
        except sqlite3.OperationalError as exc:
            locked += "locked" in str(exc)
            conn.execute("ROLLBACK") if conn.in_transaction else None
        time.sleep(0.01)
    out.put((ok, locked))


def naive(tmp: Path, steps: int, metrics: int) -> dict:
    db = tmp / "naive.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE metric (id INTEGER PRIMARY KEY, run_id INT, step INT, name TEXT, value REAL)")
    conn.close()
    q: mp.Queue = mp.Queue()
    t0 = time.perf_counter()
    procs = [mp.Process(target=_naive_writer, args=(str(db), w, steps, metrics, q)) for w in range(8)]
    for p in procs:
        p.start()
    res = [q.get() for _ in procs]
    for p in procs:
        p.join()
    wall = time.perf_counter() - t0
    written = rows(db, "SELECT COUNT(*) FROM metric")[0][0]
    return {"wall_s": wall, "expected": 8 * steps * metrics, "written": written, "locked": sum(r[1] for r in res)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--metrics", type=int, default=40)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        a = ours(tmp, args.steps, args.metrics)
        b = naive(tmp, args.steps, args.metrics)
    print(
        f"pcclip store, 8 workers + reader: {a['written']}/{a['expected']} rows, lost {a['expected'] - a['written']}, "
        f"'database is locked' {a['locked']}, reader errors {a['reader_errors']} over {a['reads']} reads, "
        f"jobs not done {a['jobs_not_done']}, wall {a['wall_s']:.1f} s"
    )
    print(
        f"naive sqlite3 (deferred), 8 writers: {b['written']}/{b['expected']} rows, lost "
        f"{b['expected'] - b['written']}, 'database is locked' {b['locked']}, wall {b['wall_s']:.1f} s"
    )
    ok = a["locked"] == 0 and a["written"] == a["expected"] and a["reader_errors"] == 0 and a["jobs_not_done"] == 0
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
