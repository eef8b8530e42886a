"""8 workers write metrics concurrently while results are queried: no "database is locked", no lost rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from runner_helpers import assert_clean, concurrent_reader, kill_leftovers, pcclip, rows, selftest_spec


def max_overlap(intervals: list[tuple[str, str]]) -> int:
    events = sorted([(s, 1) for s, _e in intervals] + [(e, -1) for _s, e in intervals], key=lambda x: (x[0], x[1]))
    cur = best = 0
    for _t, d in events:
        cur += d
        best = max(best, cur)
    return best


@pytest.mark.slow
def test_eight_writers_and_a_reader(db_file: Path, tmp_path: Path) -> None:
    steps, per_step = 40, 20
    spec = selftest_spec(
        tmp_path / "s.toml",
        llms=("oracle",),
        n=(0, 10, 20, 30, 40),
        seeds=(0, 1),
        steps=steps,
        step_seconds=0.05,
        metrics_per_step=per_step,
        jobs=8,
    )
    try:
        with concurrent_reader(db_file, every=0.01) as reader:
            pcclip(db_file, "run", str(spec), "--no-plots", timeout=300)
    finally:
        kill_leftovers(db_file)
    assert reader["errors"] == []
    assert reader["reads"] > 10
    n_ft = 4 * 2
    assert rows(db_file, "SELECT COUNT(*) FROM metric") == [(n_ft * steps * per_step,)]  # no lost rows
    assert rows(db_file, "SELECT status, COUNT(*) FROM job GROUP BY status") == [
        ("done", 22)
    ]  # 5 setup jobs, base eval, 8 finetunes, 8 evals
    logs = list((db_file.parent / ".pcclip" / db_file.stem / "logs").glob("*.log"))
    assert logs and not any("database is locked" in p.read_text() for p in logs)
    ft = rows(db_file, "SELECT started_at, ended_at FROM job WHERE kind = 'selftest.finetune'")
    assert max_overlap(ft) >= 3  # the writers really overlapped
    assert_clean(db_file)
