"""The job system for real: worker subprocesses, a real SQLite file, kill -9, SIGTERM, SIGSTOP, cancel, retry.

Jobs here are the runner's `selftest` kinds (its documented health check: the ablation DAG without models), so
the machinery is exercised in seconds; the pipeline kinds go through the same worker code.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from runner_helpers import (
    assert_clean,
    kill_leftovers,
    pcclip,
    poll_rows,
    result_fingerprint,
    rows,
    selftest_spec,
    wait_for,
)

from pcclip.jobs import cancel_experiment, cancel_job, launch, retry_job
from pcclip.jobs.runner import runner_active


@pytest.fixture
def db(db_file: Path):
    yield db_file
    kill_leftovers(db_file)


def _status(db: Path) -> dict[str, str]:
    return dict(rows(db, "SELECT label, status FROM job"))


def _popen_run(db: Path, spec: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pcclip", "--db", str(db), "run", str(spec), "--no-plots"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory):
    """An uninterrupted run of the standard small spec: (db, spec, its stdout, its results)."""
    d = tmp_path_factory.mktemp("ref")
    db = d / "ref.db"
    spec = selftest_spec(d / "s.toml")
    try:
        out = pcclip(db, "run", str(spec))
        yield db, spec, out.stdout, result_fingerprint(db)
    finally:
        kill_leftovers(db)


@pytest.fixture(scope="module")
def reference(first_run) -> list[tuple]:
    return first_run[3]


def test_run_then_rerun_reuses_everything(first_run, tmp_path: Path) -> None:
    db, spec, stdout, results = first_run
    assert "mean ± standard error" in stdout and "diff/mean" in stdout
    assert "accuracy vs N" in stdout  # the plot
    assert "diff/mean vs zero-shot accuracy" in stdout  # the forgetting trade-off, one point per LLM x N
    assert set(_status(db).values()) == {"done"}
    # 1 testbed + 1 pretrain + 2 pools + 2 embeds + 2 LLM x 2 N x 1 seed finetunes + (4 + 1 base) evals
    assert len(_status(db)) == 15
    assert rows(db, "SELECT COUNT(*) FROM run WHERE arm = 'base'") == [(1,)]
    before = rows(db, "SELECT id, started_at, attempt FROM job ORDER BY id")
    t0 = time.monotonic()
    again = pcclip(db, "run", str(spec), "--no-plots")
    rerun_s = time.monotonic() - t0
    assert rows(db, "SELECT id, started_at, attempt FROM job ORDER BY id") == before  # nothing ran again
    assert "diff/mean" in again.stdout
    assert rerun_s < 30, rerun_s
    assert result_fingerprint(db) == results
    assert_clean(db)
    # The table has one row per arm, with n and chance.
    summary = rows(db, "SELECT llm, n, n_runs, chance FROM ablation_summary WHERE task = 'diff/mean' ORDER BY llm, n")
    assert summary[0] == ("base", 0, 1, 0.5) and len(summary) == 5 and all(r[2] == 1 for r in summary[1:])
    _check_export_and_results(db, tmp_path)


def test_jobs_are_shared_across_experiments(db: Path, tmp_path: Path) -> None:
    a = selftest_spec(tmp_path / "a.toml", name="a", llms=("oracle",), n=(0, 10), seeds=(0,), pool_size=100)
    pcclip(db, "run", str(a), "--no-plots")
    ids_a = rows(db, "SELECT id, started_at FROM job ORDER BY id")
    b = selftest_spec(tmp_path / "b.toml", name="b", llms=("oracle",), n=(0, 10, 100), seeds=(0,), pool_size=100)
    pcclip(db, "run", str(b), "--no-plots")
    after = dict(rows(db, "SELECT id, started_at FROM job"))
    assert all(after[i] == t for i, t in ids_a)  # a's jobs were reused, not recomputed
    assert len(after) == len(ids_a) + 2  # only the N=100 finetune and its evaluation are new
    per_exp = dict(rows(db, "SELECT experiment_id, COUNT(*) FROM experiment_job GROUP BY 1"))
    assert sorted(per_exp.values()) == [len(ids_a), len(ids_a) + 2]
    # The shared base evaluation's results show up in both experiments.
    assert rows(db, "SELECT COUNT(DISTINCT experiment_id) FROM results WHERE llm = 'base'") == [(2,)]


def test_kill9_worker_at_random_moment_then_results_identical(db: Path, tmp_path: Path, reference: list[tuple]):
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    spec = selftest_spec(tmp_path / "s.toml")
    proc = _popen_run(db, spec)
    # A random moment counted in finished jobs (of 15), not seconds: on a fast machine a sleep could outlast the
    # whole run and leave no worker to kill.
    after_done = rng.randrange(0, 9)

    def running_after() -> list[tuple]:
        done = poll_rows(db, "SELECT COUNT(*) FROM job WHERE status = 'done'")
        if not done or done[0][0] < after_done:
            return []
        return poll_rows(db, "SELECT id, pid FROM job WHERE status = 'running' AND pid IS NOT NULL")

    try:
        running = wait_for(running_after, timeout=60, every=0.02)
        victim_job, victim_pid = rng.choice(running)
        os.kill(victim_pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, (seed, out, err)
    # The runner saw its worker die and ran the job again.
    attempt, status = rows(db, "SELECT attempt, status FROM job WHERE id = ?", (victim_job,))[0]
    assert status == "done" and attempt == 2, seed
    pcclip(db, "run", str(spec), "--no-plots")  # re-running changes nothing
    assert result_fingerprint(db) == reference, seed
    assert_clean(db)


def test_kill9_runner_then_rerun_resumes(db: Path, tmp_path: Path, reference: list[tuple]) -> None:
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    spec = selftest_spec(tmp_path / "s.toml")
    proc = _popen_run(db, spec)
    after_done = rng.randrange(0, 9)  # a random moment in finished jobs (of 15): always mid-run, on any machine
    wait_for(lambda: (poll_rows(db, "SELECT COUNT(*) FROM job WHERE status = 'done'") or [(-1,)])[0][0] >= after_done,
             timeout=60, every=0.02)
    assert proc.poll() is None, seed  # the runner is still at work when it is killed
    proc.kill()  # SIGKILL the runner (the CLI process); its detached workers go on
    proc.communicate(timeout=30)
    done_before = rows(db, "SELECT COUNT(*) FROM job WHERE status = 'done'")[0][0] if db.exists() else 0
    pcclip(db, "run", str(spec), "--no-plots", timeout=180)
    assert set(_status(db).values()) == {"done"}, seed
    assert result_fingerprint(db) == reference, (seed, done_before)
    assert_clean(db)


@pytest.mark.slow
def test_cancel_then_retry(db: Path, tmp_path: Path) -> None:
    spec = selftest_spec(tmp_path / "s.toml", llms=("oracle",), n=(0, 10), seeds=(0,), steps=100, step_seconds=0.02)
    exp = launch(db, spec)
    job = wait_for(lambda: poll_rows(db, "SELECT id FROM job WHERE status = 'running'"), timeout=60)[0][0]
    assert cancel_job(db, job) in ("cancelling", "cancelled")
    wait_for(lambda: rows(db, "SELECT status FROM job WHERE id = ?", (job,))[0][0] == "cancelled", timeout=20)
    # Its dependents never start; the runner ends once nothing more can run.
    wait_for(lambda: not runner_active(db, exp), timeout=60)
    statuses = _status(db)
    assert "running" not in statuses.values() and "done" not in [statuses[k] for k in statuses if "eval" in k]
    assert retry_job(db, job) == "pending"
    wait_for(lambda: rows(db, "SELECT status FROM job WHERE id = ?", (job,))[0][0] == "running", timeout=60)
    # Cancelling the experiment stops everything that is left.
    counts = cancel_experiment(db, exp)
    assert counts.get("cancelling", 0) + counts.get("cancelled", 0) >= 1
    wait_for(lambda: not rows(db, "SELECT 1 FROM job WHERE status IN ('running', 'queued', 'cancelling')"), 30)
    wait_for(lambda: not runner_active(db, exp), timeout=30)
    # `pcclip retry` through the CLI, then a plain re-run finishes the ablation.
    out = pcclip(db, "retry", str(job), "--no-start")
    assert "pending" in out.stdout
    fast = selftest_spec(tmp_path / "s.toml", llms=("oracle",), n=(0, 10), seeds=(0,), steps=100, step_seconds=0.02)
    pcclip(db, "run", str(fast), "--no-plots", "--jobs", "2", timeout=180)
    assert set(_status(db).values()) == {"done"}
    assert_clean(db)


def test_sigterm_marks_cancelled_and_error_is_recorded(db: Path, tmp_path: Path) -> None:
    spec = selftest_spec(tmp_path / "s.toml", llms=("oracle",), n=(0,), seeds=(0,), steps=100, step_seconds=0.02)
    exp = launch(db, spec)
    job, pid = wait_for(lambda: poll_rows(db, "SELECT id, pid FROM job WHERE status = 'running'"), timeout=60)[0]
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: rows(db, "SELECT status FROM job WHERE id = ?", (job,))[0][0] == "cancelled", timeout=20)
    err, log = rows(db, "SELECT error, log_path FROM job WHERE id = ?", (job,))[0]
    assert err == "cancelled by signal"
    assert "=== cancelled" in Path(log).read_text()
    wait_for(lambda: not runner_active(db, exp), timeout=30)
    out = pcclip(db, "status", str(exp), "--format", "json")
    assert any(r["status"] == "cancelled" for r in json.loads(out.stdout))


@pytest.mark.slow
def test_stale_heartbeat_is_detected_and_retried(db: Path, tmp_path: Path) -> None:
    spec = selftest_spec(
        tmp_path / "s.toml",
        llms=("oracle",),
        n=(0,),
        seeds=(0,),
        steps=30,
        step_seconds=0.05,
        heartbeat_s=0.5,
        stale_after_s=3,
    )
    proc = _popen_run(db, spec)
    try:
        job, pid = wait_for(lambda: poll_rows(db, "SELECT id, pid FROM job WHERE status = 'running'"), timeout=60)[0]
        os.kill(pid, signal.SIGSTOP)  # alive but silent: only the heartbeat can tell
        try:
            wait_for(
                lambda: rows(
                    db, "SELECT attempt FROM job WHERE id = ? AND status = 'running' AND pid != ?", (job, pid)
                ),
                timeout=30,
            )
            out, err = proc.communicate(timeout=120)
        finally:
            os.kill(pid, signal.SIGCONT)  # the old worker wakes up: its late writes must not count
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    attempt, status, msg = rows(db, "SELECT attempt, status, message FROM job WHERE id = ?", (job,))[0]
    assert status == "done" and attempt == 2
    time.sleep(1.5)
    assert rows(db, "SELECT status, attempt FROM job WHERE id = ?", (job,))[0] == ("done", 2)
    assert_clean(db)


def test_attempts_are_limited(db: Path, tmp_path: Path) -> None:
    spec = selftest_spec(
        tmp_path / "s.toml", llms=("oracle",), n=(0,), seeds=(0,), steps=200, step_seconds=0.05, max_attempts=1, jobs=1
    )
    proc = _popen_run(db, spec)
    try:
        job, pid = wait_for(lambda: poll_rows(db, "SELECT id, pid FROM job WHERE status = 'running'"), timeout=60)[0]
        os.kill(pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 1
    status, error = rows(db, "SELECT status, error FROM job WHERE id = ?", (job,))[0]
    assert status == "failed" and "worker died after 1 attempt(s)" in error and "is gone" in error
    assert "failed" in err and "wait on those" in err


def test_crash_marks_failed_with_traceback(db: Path, tmp_path: Path) -> None:
    """A real pipeline job whose input is broken: the dataset root does not exist."""
    spec = tmp_path / "crash.toml"
    spec.write_text(
        'name = "crash"\n[dataset]\nkind = "imagefolder"\noptions = { root = "%s" }\nsplit = "train"\npool_size = 5\n'
        '[base_model]\nkind = "open_clip"\nname = "ViT-B-32"\n[[llm]]\nname = "oracle"\nbackend = "template"\n'
        "[ablation]\nn = [5]\nseeds = [0]\n[evaluation]\ndatasets = []\n" % (tmp_path / "missing")
    )
    out = pcclip(db, "run", str(spec), check=False)
    assert out.returncode == 1
    failed = rows(db, "SELECT label, error FROM job WHERE status = 'failed'")
    assert failed and all("Traceback" in e and "missing" in e for _l, e in failed)
    assert rows(db, "SELECT status FROM job WHERE kind = 'finetune'") == [("pending",)]  # blocked, never started
    st = pcclip(db, "status", "--failed")
    assert "failed" in st.stdout


@pytest.mark.slow
def test_submitit_local_executor(db: Path, tmp_path: Path) -> None:
    pytest.importorskip("submitit")
    spec = selftest_spec(tmp_path / "s.toml", llms=("oracle",), n=(0,), executor="submitit-local")
    pcclip(db, "run", str(spec), "--no-plots", timeout=180)
    assert set(_status(db).values()) == {"done"}
    assert list((db.parent / ".pcclip" / db.stem / "submitit").iterdir())  # submitit's own job folders
    assert_clean(db)


def _check_export_and_results(db: Path, tmp_path: Path) -> None:
    out_csv = tmp_path / "r.csv"
    pcclip(db, "export", "--format", "csv", "--out", str(out_csv))
    lines = out_csv.read_text().splitlines()
    n_results = rows(db, "SELECT COUNT(*) FROM result")[0][0]
    assert len(lines) == n_results + 1 and "llm" in lines[0]
    js = json.loads(pcclip(db, "export", "--format", "json", "--summary").stdout)
    assert {r["llm"] for r in js} == {"base", "oracle", "smollm2-135m"}
    res = pcclip(db, "results", "st", "--no-plots")
    assert "oracle" in res.stdout and "base" in res.stdout
    res_json = json.loads(pcclip(db, "results", "--format", "json").stdout)
    assert all(set(r) >= {"llm", "n", "mean", "stderr", "n_runs", "chance"} for r in res_json)
    bad = pcclip(db, "results", "nope", check=False)
    assert bad.returncode == 1 and "no experiment 'nope'" in bad.stderr and "Traceback" not in bad.stderr


def test_cancel_interrupts_a_step_that_reports_no_progress(db: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PCCLIP_CANCEL_GRACE_S", "1")  # inherited by the detached runner and its workers
    spec = selftest_spec(tmp_path / "s.toml", llms=("oracle",), n=(0,), seeds=(0,), steps=1, step_seconds=60)
    exp = launch(db, spec)
    job = wait_for(lambda: poll_rows(db, "SELECT id FROM job WHERE status = 'running'"), timeout=60)[0][0]
    t0 = time.monotonic()
    cancel_job(db, job)
    wait_for(lambda: rows(db, "SELECT status FROM job WHERE id = ?", (job,))[0][0] == "cancelled", timeout=30)
    assert time.monotonic() - t0 < 20  # not the 60 s the step would have taken
    wait_for(lambda: not runner_active(db, exp), timeout=30)


def test_workers_are_placed_on_devices(db: Path, tmp_path: Path) -> None:
    """With GPUs (here named in the spec), each worker gets its own CUDA_VISIBLE_DEVICES, least-loaded first."""
    spec = selftest_spec(tmp_path / "s.toml", llms=("oracle",), n=(0, 10), seeds=(0, 1), devices=[0, 1], jobs=2)
    pcclip(db, "run", str(spec), "--no-plots")
    headers = [p.read_text().splitlines()[0] for p in (db.parent / ".pcclip" / db.stem / "logs").glob("job-*.log")]
    seen = {h.split("CUDA_VISIBLE_DEVICES=")[1].split(")")[0] for h in headers}
    assert seen == {"0", "1"}, headers
