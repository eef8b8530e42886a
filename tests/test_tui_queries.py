"""The TUI's SQL: read-only connections, the per-experiment summary equal to the `ablation_summary` view,
change detection, bounded queries, and the plots' variant choice."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest
from tui_helpers import DemoDb, make_demo_db

from pcclip_tui import plots, queries


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoDb:
    return make_demo_db(tmp_path_factory.mktemp("tui-q") / "pcclip.db")


def test_summary_equals_the_view(demo: DemoDb) -> None:
    conn = queries.connect(demo.path)
    for exp in (demo.experiment_id, demo.second_experiment_id):
        ours = [tuple(r.values()) for r in queries.ablation_summary(conn, exp)]
        view = conn.execute(
            "SELECT llm, n, variant, task, metric, mean, stderr, se_over, n_runs, n_rows, chance FROM ablation_summary"
            " WHERE experiment_id = ? ORDER BY task, metric, llm, n, variant", (exp,)).fetchall()
        assert len(ours) == len(view)
        for a, b in zip(ours, view):
            assert all(math.isclose(x, y) if isinstance(x, float) else x == y for x, y in zip(a, b)), (a, b)
    assert len(queries.ablation_summary(conn, demo.experiment_id)) == 28


def test_connection_is_read_only_and_change_token_moves(demo: DemoDb) -> None:
    conn = queries.connect(demo.path)
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("DELETE FROM result")
    before = queries.change_token(demo.path)
    from pcclip.store import open_store
    from pcclip.store.tables import Metric

    store = open_store(demo.path)
    with store.session() as s:
        s.add(Metric(run_id=demo.runs[("base", 0, 0)], step=99, name="probe", value=1.0))
    store.close()
    assert queries.change_token(demo.path) != before


def test_missing_empty_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(queries.DbUnavailable, match="pcclip run"):
        queries.connect(tmp_path / "none.db")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(queries.DbUnavailable, match="not a pcclip database"):
        queries.connect(other)


def test_queries_are_bounded(demo: DemoDb) -> None:
    conn = queries.connect(demo.path)
    assert len(queries.comparisons(conn, demo.pools["oracle"], limit=5)) == 5
    assert len(queries.metric_series(conn, demo.runs[("oracle", 10, 0)], "loss", max_points=10)) == 10
    series = queries.metric_series(conn, demo.runs[("oracle", 10, 0)], "loss")
    assert [p["step"] for p in series] == list(range(40))
    assert queries.runs_of_job(conn, demo.jobs["done"]) == []  # the testbed job made no run


def test_plots_pick_one_variant() -> None:
    rows = [dict(llm="base", n=0, variant="", task="diff/mean", metric="accuracy", mean=0.5, stderr=0.01, chance=0.5)]
    for v, lift in (("lr1e-3", 0.2), ("avg0.5", 0.1)):
        for n in (10, 100):
            rows.append(dict(llm="oracle", n=n, variant=v, task="diff/mean", metric="accuracy",
                             mean=0.5 + lift * n / 100, stderr=0.01, chance=0.5))
    kept, note = plots.one_variant(rows, "diff/mean", "lr1e-3")
    assert {r["variant"] for r in kept} == {"", "lr1e-3"} and "2 in all" in note
    kept, note = plots.one_variant(rows[:3], "diff/mean", None)
    assert kept == rows[:3] and note == ""


def test_preview_never_renders_a_missing_testbed(demo: DemoDb, tmp_path: Path, monkeypatch) -> None:
    from pcclip.errors import PcclipError
    from pcclip_tui import control

    conn = queries.connect(demo.path)
    row = queries.dataset(conn, demo.dataset_id)
    assert control.open_registered_dataset(row).splits() == ["train", "pool", "test"]  # cached: opens
    monkeypatch.setenv("PCCLIP_CACHE", str(tmp_path / "empty-cache"))  # another machine's cache
    with pytest.raises(PcclipError, match="not on this machine"):
        control.open_registered_dataset(row)
    assert not (tmp_path / "empty-cache").exists()
