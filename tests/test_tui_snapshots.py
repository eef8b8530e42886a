"""Snapshot tests (pytest-textual-snapshot) of the main screens at 80x24 and at a larger size.

The demo database has fixed timestamps and the clock is pinned, so the pictures are stable. Update them after a
deliberate change with `pytest tests/test_tui_snapshots.py --snapshot-update`, and look at the SVGs first.
"""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Log, Static
from tui_helpers import FROZEN_NOW, DemoDb, make_demo_db, plot_text, text_of, wait_for

from pcclip_tui import widgets
from pcclip_tui.app import PcclipApp


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoDb:
    return make_demo_db(tmp_path_factory.mktemp("tui-snap") / "pcclip.db")


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(widgets, "now", lambda: FROZEN_NOW)


def _rows(pilot, selector: str, n: int = 1):
    return wait_for(pilot, lambda: pilot.app.screen.query(selector)
                    and pilot.app.screen.query_one(selector, DataTable).row_count >= n, what=selector)


def test_experiments_80x24(snap_compare, demo: DemoDb) -> None:
    async def ready(pilot) -> None:
        await _rows(pilot, "#experiments", 2)
        await wait_for(pilot, lambda: "paper-lite" in text_of(pilot.app.screen.query_one("#exp-panel", Static)))

    assert snap_compare(PcclipApp(db=demo.path), terminal_size=(80, 24), run_before=ready)


def test_jobs_80x24(snap_compare, demo: DemoDb) -> None:
    async def ready(pilot) -> None:
        await pilot.press("4")
        await _rows(pilot, "#jobs", 30)
        await wait_for(pilot, lambda: "step 29" in "\n".join(pilot.app.screen.query_one("#job-log", Log).lines))

    assert snap_compare(PcclipApp(db=demo.path), terminal_size=(80, 24), run_before=ready)


def test_results_table_80x24(snap_compare, demo: DemoDb) -> None:
    async def ready(pilot) -> None:
        await pilot.press("5")
        await _rows(pilot, "#table", 28)

    assert snap_compare(PcclipApp(db=demo.path), terminal_size=(80, 24), run_before=ready)


def test_comparisons_80x24(snap_compare, demo: DemoDb) -> None:
    async def ready(pilot) -> None:
        await pilot.press("3")
        await _rows(pilot, "#comparisons", 12)
        await wait_for(pilot, lambda: "▀" in text_of(pilot.app.screen.query_one("#cmp-images", Static)))

    assert snap_compare(PcclipApp(db=demo.path), terminal_size=(80, 24), run_before=ready)


def test_results_plot_160x48(snap_compare, demo: DemoDb) -> None:
    async def ready(pilot) -> None:
        await pilot.press("5")
        await _rows(pilot, "#table", 28)
        await pilot.press("v")
        await wait_for(pilot, lambda: "accuracy vs N" in plot_text(pilot.app.screen.query_one("#by-n")))

    assert snap_compare(PcclipApp(db=demo.path), terminal_size=(160, 48), run_before=ready)


def test_datasets_160x48(snap_compare, demo: DemoDb) -> None:
    async def ready(pilot) -> None:
        await pilot.press("2")
        await _rows(pilot, "#items", 8)
        await wait_for(pilot, lambda: "▀" in text_of(pilot.app.screen.query_one("#preview", Static)))
        await wait_for(pilot, lambda: "color:" in text_of(pilot.app.screen.query_one("#item-info", Static)))

    assert snap_compare(PcclipApp(db=demo.path), terminal_size=(160, 48), run_before=ready)
