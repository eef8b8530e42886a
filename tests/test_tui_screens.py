"""Pilot tests of every screen and action of pcclip-tui, on a real SQLite database filled with realistic rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from textual.widgets import DataTable, Log, Static
from tui_helpers import DemoDb, make_demo_db, plot_text, table_rows, text_of, wait_for

from pcclip_tui.app import PcclipApp


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoDb:
    return make_demo_db(tmp_path_factory.mktemp("tui") / "pcclip.db")


def _rows_loaded(app: PcclipApp, selector: str):
    return lambda: app.screen.query(selector) and app.screen.query_one(selector, DataTable).row_count > 0


async def test_missing_database_says_what_to_run(tmp_path: Path) -> None:
    db = tmp_path / "nothing.db"
    app = PcclipApp(db=db)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert type(app.screen).__name__ == "EmptyScreen"
        message = text_of(app.screen.query_one("#empty-message", Static))
        assert "pcclip run" in message and str(db) in message.replace("\n", "")
        await pilot.press("2")  # screen keys do nothing until there is data
        assert type(app.screen).__name__ == "EmptyScreen"
    assert not db.exists()  # the TUI never creates or writes the database


async def test_empty_database_then_data_arrives(tmp_path: Path) -> None:
    from pcclip.store import open_store

    db = tmp_path / "pcclip.db"
    open_store(db).close()  # schema only
    app = PcclipApp(db=db)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert type(app.screen).__name__ == "EmptyScreen"
        assert "no experiments yet" in text_of(app.screen.query_one("#empty-message", Static))
        make_demo_db(db)  # a run starts writing: the empty state goes away by itself
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ExperimentsScreen", what="experiments screen")
        await wait_for(pilot, _rows_loaded(app, "#experiments"))


async def test_experiments_list_status_progress_and_open(demo: DemoDb) -> None:
    app = PcclipApp(db=demo.path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, _rows_loaded(app, "#experiments"))
        rows = {r[1]: r for r in table_rows(app.screen.query_one("#experiments", DataTable))}
        assert set(rows) == {"testbed-ablation", "paper-lite"}
        ablation = rows["testbed-ablation"]
        assert ablation[2] == "running"  # one job runs
        assert "1✗" in ablation[4]  # one failed job is flagged
        assert rows["paper-lite"][2] == "pending"
        # the highlighted experiment's panel: description and per-kind progress
        table = app.screen.query_one("#experiments", DataTable)
        table.move_cursor(row=[r[1] for r in table_rows(table)].index("testbed-ablation"))
        panel = app.screen.query_one("#exp-panel", Static)
        await wait_for(pilot, lambda: "finetune 12/16" in text_of(panel), what="panel")
        assert "demo rows for the TUI tests" in text_of(panel) and "generate 3/3" in text_of(panel)
        # open the ablation: its arms (runs) and jobs
        await pilot.press("enter")
        await wait_for(pilot, _rows_loaded(app, "#runs"))
        runs = table_rows(app.screen.query_one("#runs", DataTable))
        assert len(runs) == 1 + 3 * 2 * 2 + 1  # base, 3 LLMs x 2 N x 2 seeds, the pretraining run
        assert {r[1] for r in runs} >= {"base", "oracle", "smollm2-135m", "gemma3-270m"}
        await wait_for(pilot, _rows_loaded(app, "#exp-jobs"))
        statuses = {r[2] for r in table_rows(app.screen.query_one("#exp-jobs", DataTable))}
        assert statuses == {"done", "running", "queued", "pending", "failed", "cancelled"}
        # Enter on a run opens its detail; Escape goes back
        app.screen.query_one("#runs", DataTable).focus()
        oracle_row = [r[0] for r in runs].index(str(demo.runs[("oracle", 100, 1)]))
        app.screen.query_one("#runs", DataTable).move_cursor(row=oracle_row)
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "RunDetailScreen")
        await wait_for(pilot, lambda: "Comparison pool" in text_of(app.screen.query_one("#run-info", Static)))
        await pilot.press("escape")
        assert type(app.screen).__name__ == "ExperimentScreen"
        await pilot.press("escape")
        assert type(app.screen).__name__ == "ExperimentsScreen"


async def test_run_detail_shows_provenance_artifacts_metrics(demo: DemoDb) -> None:
    from pcclip_tui.screens.run_detail import RunDetailScreen

    app = PcclipApp(db=demo.path)
    run_id = demo.runs[("smollm2-135m", 100, 1)]
    async with app.run_test(size=(120, 40)) as pilot:
        await app.push_screen(RunDetailScreen(run_id))
        await wait_for(pilot, lambda: "Artifacts" in text_of(app.screen.query_one("#run-info", Static)))
        info = text_of(app.screen.query_one("#run-info", Static))
        for expected in ("smollm2-135m", "llama_cpp", "SmolLM2-135M-Instruct.Q4_1.gguf", "9f9f9f9f",  # model + hash
                         "paper-v1", "What is the visual difference", "pair seed",  # prompt
                         "checkpoint", f"ckpt-{run_id}.pt",  # artifact
                         "diff/mean", "loss", "lr", "testbed-ablation", "llms = [",  # results, metrics, spec
                         "temperature=0.7", "seed       1"):
            assert expected in info, expected
        plot = app.screen.query_one("#run-plot")
        assert plot.display
        await pilot.press("m")  # next metric: lr
        assert app.screen.metric == "lr"


async def test_datasets_browse_splits_and_preview(demo: DemoDb) -> None:
    app = PcclipApp(db=demo.path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        await wait_for(pilot, _rows_loaded(app, "#items"), what="items")
        screen = app.screen
        assert screen.split == "train"
        await wait_for(pilot, lambda: "attributes" in text_of(screen.query_one("#item-info", Static))
                       or "shape:" in text_of(screen.query_one("#item-info", Static)), what="item info")
        info = text_of(screen.query_one("#item-info", Static))
        assert "a photo of" in info and "label" in info and "color:" in info
        preview = text_of(screen.query_one("#preview", Static))
        assert preview.count("▀") >= 8 * 4  # a half-block picture, not a placeholder
        await pilot.press("s")  # next split
        await wait_for(pilot, lambda: screen.split == "pool" and screen.query_one("#items", DataTable).row_count == 12)
        items = screen.query_one("#items", DataTable)
        items.focus()
        await pilot.press("down", "down")
        await wait_for(pilot, lambda: text_of(screen.query_one("#item-info", Static)).startswith("#2"), what="item 2")
        await pilot.press("]")  # one page only: stays on page 0
        assert screen.page == 0


async def test_comparisons_pool_filter_search_grade_images(demo: DemoDb) -> None:
    app = PcclipApp(db=demo.path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("3")
        await wait_for(pilot, _rows_loaded(app, "#comparisons"))
        screen = app.screen
        assert screen.pool_id == demo.pools["oracle"]
        rows = table_rows(screen.query_one("#comparisons", DataTable))
        assert len(rows) == 12 and all("accepted" in r[1] for r in rows) and rows[0][2] == "2/2"
        await wait_for(pilot, lambda: "▀" in text_of(screen.query_one("#cmp-images", Static)), what="images")
        detail = text_of(screen.query_one("#cmp-text", Static))
        assert "raw:" in detail and "filtered:" in detail and "claims correct" in detail
        assert "pool quality: 12 graded · precision 100.0%" in detail  # the comparison_quality view, whole pool
        assert "prompt: What is the visual difference between an image with a description of" in detail
        # the next pool (smollm2) has rejections: filter to them
        await pilot.press("p")
        await wait_for(pilot, lambda: screen.pool_id == demo.pools["smollm2-135m"])
        await pilot.press("f", "f")  # all -> accepted -> rejected
        assert screen.verdict == "rejected"
        with sqlite3.connect(demo.path) as conn:
            n_rejected = conn.execute("SELECT count(*) FROM comparison WHERE pool_id = ? AND NOT accepted",
                                      (demo.pools["smollm2-135m"],)).fetchone()[0]
        await wait_for(pilot, lambda: screen.query_one("#comparisons", DataTable).row_count == n_rejected)
        assert all("✗" in r[1] for r in table_rows(screen.query_one("#comparisons", DataTable)))
        await wait_for(pilot, lambda: "(empty)" in text_of(screen.query_one("#cmp-text", Static)))
        # search: '/' focuses the box; typing filters
        await pilot.press("f")  # back to all
        await pilot.press("slash")
        await pilot.press(*"(11)")
        await wait_for(pilot, lambda: screen.query_one("#comparisons", DataTable).row_count == 1, what="search")
        await pilot.press("enter")  # back to the table
        assert screen.focused is screen.query_one("#comparisons", DataTable)
        await pilot.press("slash", "escape")  # escape leaves the search box too
        assert screen.focused is screen.query_one("#comparisons", DataTable)
        await pilot.press("P")  # previous pool, and back
        await wait_for(pilot, lambda: screen.pool_id == demo.pools["oracle"])
        await pilot.press("p")
        await wait_for(pilot, lambda: screen.pool_id == demo.pools["smollm2-135m"])
        # the gemma pool has no grades
        await pilot.press("p")
        await wait_for(pilot, lambda: screen.pool_id == demo.pools["gemma3-270m"])
        screen.query_one("#cmp-search").value = ""
        await wait_for(pilot, lambda: screen.query_one("#comparisons", DataTable).row_count == 12)
        assert all(r[2] == "-" for r in table_rows(screen.query_one("#comparisons", DataTable)))
        await pilot.press("i")  # images off
        assert not screen.query_one("#cmp-images").display


async def test_jobs_queue_log_tail_and_filter(demo: DemoDb) -> None:
    app = PcclipApp(db=demo.path)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("4")
        await wait_for(pilot, _rows_loaded(app, "#jobs"))
        screen = app.screen
        table = screen.query_one("#jobs", DataTable)
        rows = table_rows(table)
        assert rows[0][2].startswith("running") and "stale" in rows[0][2]  # silent heartbeat is flagged
        assert "42%" in rows[0][3]
        order = [r[2].split()[0] for r in rows]
        assert order.index("queued") < order.index("pending") < order.index("failed") < order.index("done")
        log = screen.query_one("#job-log", Log)
        await wait_for(pilot, lambda: "step 29" in "\n".join(log.lines), what="log tail")
        # the failed job's log ends with its error
        table.move_cursor(row=order.index("failed"))
        await wait_for(pilot, lambda: "out of memory" in "\n".join(log.lines), what="error in log")
        await pilot.press("f")  # filter: running only
        await wait_for(pilot, lambda: table.row_count == 1)
        for _ in range(5):
            await pilot.press("f")  # queued, pending, failed, cancelled, done
        await wait_for(pilot, lambda: table.row_count > 1 and all(r[2] == "done" for r in table_rows(table)))
        # Enter on a finetune job opens the run it made
        table.move_cursor(row=next(i for i, r in enumerate(table_rows(table)) if r[1] == "finetune"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "RunDetailScreen")
        await pilot.press("escape")
        # control keys refuse what makes no sense, without calling the runner
        await pilot.press("c")
        await pilot.pause()
        assert any("nothing to cancel" in str(n.message) for n in app._notifications)


async def test_results_table_sort_group_plots_and_loss(demo: DemoDb) -> None:
    app = PcclipApp(db=demo.path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("5")
        await wait_for(pilot, _rows_loaded(app, "#table"))
        screen = app.screen
        table = screen.query_one("#table", DataTable)
        rows = table_rows(table)
        assert len(rows) == 4 * 7  # 4 tasks x (base + 3 LLMs x 2 N)
        # grouped by task: the task name appears once per group
        assert sum(1 for r in rows if r[0]) == 4
        base = next(r for r in rows if r[1] == "base")
        assert "±" in base[4] and base[5].startswith("1×3") and base[6] in ("50", "4")
        oracle = [r for r in rows if r[1] == "oracle"]
        assert all(r[5] == "2" for r in oracle)  # two training seeds -> standard error over runs
        await pilot.press("s", "s")  # sort by mean (descending)
        assert screen.sort == "mean"
        await pilot.press("g", "g")  # no grouping
        rows = table_rows(table)
        means = [float(r[4].split("±")[0]) for r in rows]
        assert means == sorted(means, reverse=True)
        await pilot.press("v")  # accuracy vs N
        assert screen.query_one("#res-views").current == "by-n"
        figure = plot_text(screen.query_one("#by-n"))
        assert "diff/mean: accuracy vs N" in figure and "oracle" in figure and "N comparisons" in figure
        await pilot.press("t")  # next task
        assert screen.plot_task != "diff/mean"
        assert f"{screen.plot_task}: accuracy vs N" in plot_text(screen.query_one("#by-n"))
        await pilot.press("v")  # per-LLM bars
        assert screen.query_one("#res-views").current == "bars"
        figure = plot_text(screen.query_one("#bars"))
        assert "per LLM at N = 100" in figure and "base (N=0)" in figure
        table.move_cursor(row=next(i for i, r in enumerate(table_rows(table)) if r[1] == "gemma3-270m"))
        await pilot.press("v")  # loss curves of the highlighted arm: one line per training seed
        assert screen.query_one("#res-views").current == "loss"
        await wait_for(pilot, lambda: "seed 1" in plot_text(screen.query_one("#loss")), what="loss curves")
        assert "loss: gemma3-270m" in plot_text(screen.query_one("#loss"))
        await pilot.press("v")  # the forgetting trade-off: one point per LLM x N
        assert screen.query_one("#res-views").current == "trade"
        figure = plot_text(screen.query_one("#trade"))
        assert "diff/mean vs zero-shot accuracy" in figure and "oracle" in figure and "zero-shot accuracy %" in figure
        await pilot.press("v")
        assert screen.query_one("#res-views").current == "table"
        await pilot.press("enter")  # the arm's first run
        await wait_for(pilot, lambda: type(app.screen).__name__ == "RunDetailScreen")


async def test_command_palette_lists_screen_actions(demo: DemoDb) -> None:
    app = PcclipApp(db=demo.path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        await wait_for(pilot, _rows_loaded(app, "#jobs"))
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for expected in ("Cancel", "Retry", "Filter", "Go to Results", "Launch a spec"):
            assert expected in titles
        # running a palette command runs the action
        cmd = next(c for c in app.get_system_commands(app.screen) if c.title == "Go to Results")
        cmd.callback()
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ResultsScreen")
