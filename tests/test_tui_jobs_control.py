"""Job control from the TUI through pcclip.jobs: launch a spec (detached runner), cancel, retry, cancel an
experiment; closing the TUI never stops the jobs."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input
from tui_helpers import TINY_SPEC, make_demo_db, table_rows, wait_for

from pcclip_tui.app import PcclipApp


def _statuses(db: Path) -> dict[int, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT id, status FROM job").fetchall())


def _wait_all_final(db: Path, timeout: float = 120.0) -> dict[int, str]:
    deadline = time.monotonic() + timeout
    while True:
        st = _statuses(db)
        if st and all(s in ("done", "failed", "cancelled") for s in st.values()):
            return st
        if time.monotonic() > deadline:
            raise AssertionError(f"jobs did not finish: {st}")
        time.sleep(0.5)


@pytest.mark.slow
async def test_launch_cancel_retry_and_jobs_outlive_the_tui(tmp_path: Path) -> None:
    db = tmp_path / "pcclip.db"
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY_SPEC)
    app = PcclipApp(db=db)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert type(app.screen).__name__ == "EmptyScreen"
            await pilot.press("L")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "LaunchScreen")
            path_box = app.screen.query_one("#launch-path", Input)
            path_box.focus()
            path_box.value = str(spec)
            await pilot.press("enter")
            # the runner starts detached; the empty state gives way to the experiment
            await wait_for(pilot, lambda: type(app.screen).__name__ == "ExperimentsScreen", timeout=60)
            await pilot.press("4")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "JobsScreen")
            table = app.screen.query_one("#jobs", DataTable)
            await wait_for(pilot, lambda: table.row_count == 8, what="8 jobs")
            # cancel the last job (an evaluation that waits on the others), then retry it
            target = max(_statuses(db))
            assert _statuses(db)[target] == "pending"
            table.move_cursor(row=[r[0] for r in table_rows(table)].index(str(target)))
            await pilot.press("c")
            await wait_for(pilot, lambda: _statuses(db)[target] == "cancelled", what="cancelled")
            await wait_for(pilot, lambda: any(r[0] == str(target) and r[2] == "cancelled"
                                              for r in table_rows(table)), what="table shows cancelled")
            table.move_cursor(row=[r[0] for r in table_rows(table)].index(str(target)))
            await pilot.press("r")
            await wait_for(pilot, lambda: _statuses(db)[target] in ("pending", "queued", "running", "done"),
                           what="retried")
        # the TUI is closed: the detached runner finishes every job, the retried one included
        final = _wait_all_final(db)
        assert set(final.values()) == {"done"}, final
    finally:
        _wait_all_final(db) if db.exists() else None  # never leave workers behind


async def test_cancel_experiment_and_refusals(tmp_path: Path) -> None:
    demo = make_demo_db(tmp_path / "pcclip.db")
    app = PcclipApp(db=demo.path)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one("#experiments", DataTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        table.move_cursor(row=[r[1] for r in table_rows(table)].index("paper-lite"))
        await pilot.press("x")
        await wait_for(pilot, lambda: any(r[1] == "paper-lite" and r[2] == "cancelled" for r in table_rows(table)),
                       what="experiment cancelled")
        with sqlite3.connect(demo.path) as conn:
            st = conn.execute("SELECT j.status FROM job j JOIN experiment_job ej ON ej.job_id = j.id"
                              " WHERE ej.experiment_id = ?", (demo.second_experiment_id,)).fetchall()
        assert st == [("cancelled",)]
        # retrying a done job is refused with a message, and changes nothing
        await pilot.press("4")
        jobs = app.screen.query_one("#jobs", DataTable)
        await wait_for(pilot, lambda: jobs.row_count > 0)
        done_row = next(i for i, r in enumerate(table_rows(jobs)) if r[2] == "done")
        jobs.move_cursor(row=done_row)
        before = _statuses(demo.path)
        await pilot.press("r")
        await pilot.pause()
        assert any("only failed or cancelled" in str(n.message) for n in app._notifications)
        assert _statuses(demo.path) == before
