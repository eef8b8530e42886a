"""Comparisons: each pool's LLM-written comparisons, raw vs filtered, verdict, grade and the two images."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Input, Static

from pcclip.errors import PcclipError
from pcclip_tui import queries
from pcclip_tui.screens.base import DbScreen, selected_key, sync_table
from pcclip_tui.widgets import ImagePair, one_line, prompt_text

VERDICTS = ["all", "accepted", "rejected"]


def verdict_text(row: dict[str, Any]) -> Text:
    if row["accepted"]:
        return Text("✓ accepted", style="green")
    return Text(f"✗ {row['reject_reason'] or 'rejected'}", style="red")


def grade_text(row: dict[str, Any]) -> Text:
    if row.get("n_claims") is None:
        return Text("-", style="dim")
    style = "green" if row.get("fully_correct") else "yellow"
    return Text(f"{row['n_correct']}/{row['n_claims']}", style=style)


def quality_text(q: dict[str, Any] | None, pool_id: int | None) -> Text:
    """One line on the whole pool: its graded quality, or how to grade it."""
    t = Text()
    if q is None or not q.get("n_graded"):
        t.append(f"pool quality: not graded (`pcclip grade --pool {pool_id}`)\n", "dim")
        return t

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{100 * v:.1f}%"

    t.append("pool quality: ", "bold")
    t.append(f"{q['n_graded']} graded · precision {pct(q['claim_precision'])} · recall {pct(q['diff_recall'])} · "
             f"reversed {pct(q['direction_error_rate'])} · halluc. {pct(q['hallucination_rate'])} · "
             f"fully ok {pct(q['fully_correct_rate'])}\n")
    return t


def detail_text(c: dict[str, Any]) -> Text:
    t = Text()
    t.append(f"pair {c['idx']}: item {c['item_i']} vs {c['item_j']} of {c['split']}  ({c['llm']}, "
             f"prompt {c['prompt_id']})\n", "bold")
    t.append("i: ", "bold")
    t.append(f"{c['caption_i']}\n")
    t.append("j: ", "bold")
    t.append(f"{c['caption_j']}\n")
    t.append("raw: ", "bold")
    t.append(f"{c['raw_text']}\n")
    t.append("filtered: ", "bold")
    t.append(f"{c['text'] or '(empty)'}\n")
    t.append("verdict: ", "bold")
    t.append_text(verdict_text(c))
    t.append(f"   {c['tokens']} tokens, {c['seconds']:.2f}s\n")
    if c.get("n_claims") is not None:
        t.append("grade: ", "bold")
        t.append(
            f"{c['n_correct']}/{c['n_claims']} claims correct, {c['n_reversed']} reversed, {c['n_wrong']} wrong, "
            f"{c['n_hallucinated']} hallucinated; covers {c['n_covered']}/{c['n_true_diffs']} true differences"
            f"{' (fully correct)' if c['fully_correct'] else ''} [{c['grader']}]\n"
        )
    t.append("prompt: ", "bold")
    t.append(f"{prompt_text(c['prompt_id'], c['caption_i'], c['caption_j'])}\n", "dim")
    return t


class ComparisonsScreen(DbScreen):
    TITLE_TEXT = "Comparisons"
    AUTO_FOCUS = "#comparisons"
    BINDINGS = [
        Binding("p", "pool(1)", "Next pool"),
        Binding("P", "pool(-1)", "Prev pool", show=False),
        Binding("f", "verdict", "Filter"),
        Binding("slash", "search", "Search"),
        Binding("i", "images", "Images"),
        Binding("escape", "leave_search", "Table", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.pool_id: int | None = None
        self.verdict = "all"
        self.search = ""
        self.show_images = True
        self._pools: list[dict[str, Any]] = []
        self._quality: dict[str, Any] | None = None
        self._quality_token: tuple | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        with Horizontal(id="cmp-bar"):
            yield Static("", id="cmp-pool")
            yield Input(placeholder="/ search text or captions", id="cmp-search")
        table = DataTable(id="comparisons", cursor_type="row", zebra_stripes=True)
        table.add_columns("pair", "verdict", "grade", "raw text")
        yield table
        with Horizontal(id="cmp-detail"):
            yield Static("", id="cmp-images")
            with VerticalScroll(id="cmp-text-box"):  # tab focuses it; arrows scroll long texts
                yield Static("", id="cmp-text")
        yield from self.compose_bottom()

    def fetch(self, conn: sqlite3.Connection) -> dict[str, Any]:
        pools = queries.pools(conn)
        pool_id = self.pool_id if any(p["id"] == self.pool_id for p in pools) else (pools[0]["id"] if pools else None)
        rows = queries.comparisons(conn, pool_id, self.verdict, self.search) if pool_id is not None else []
        # the quality view aggregates the whole pool: recompute it only when the pool or its grades change
        pool = next((p for p in pools if p["id"] == pool_id), None)
        token = (pool_id, pool["total"] if pool else 0, queries.grades_token(conn))
        if token == self._quality_token:  # set on the UI thread only, with the row it describes
            quality = self._quality
        else:
            quality = queries.pool_quality(conn, pool_id) if pool_id is not None else None
        return {"pools": pools, "pool_id": pool_id, "rows": rows, "quality": quality, "quality_token": token}

    def show(self, data: dict[str, Any]) -> None:
        self._pools, self.pool_id = data["pools"], data["pool_id"]
        self._quality, self._quality_token = data["quality"], data["quality_token"]
        pool = next((p for p in self._pools if p["id"] == self.pool_id), None)
        label = self.query_one("#cmp-pool", Static)
        if pool is None:
            label.update("No comparison pools yet.")
        else:
            k = [p["id"] for p in self._pools].index(pool["id"]) + 1
            more = " (first 500: search to narrow)" if len(data["rows"]) >= queries.ROW_LIMIT else ""
            label.update(
                f"[b]pool {k}/{len(self._pools)} {pool['llm']}[/] {pool['accepted']}/{pool['total']} ok"
                f" · showing [b]{self.verdict}[/]{more}"
            )
        sync_table(self.query_one("#comparisons", DataTable), [
            (r["id"], [str(r["idx"]), verdict_text(r), grade_text(r), one_line(r["raw_text"], 120)])
            for r in data["rows"]
        ])
        if not data["rows"]:
            self.query_one("#cmp-text", Static).update(
                "No comparisons match." if pool else
                "Pools appear when a run's generation jobs start (`pcclip run`, or `pcclip generate`)."
            )
            self.query_one("#cmp-images", Static).update("")
        else:
            self.show_selected()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_selected()

    def show_selected(self) -> None:
        key = selected_key(self.query_one("#comparisons", DataTable))
        if key is not None:
            self._detail(int(key), self.show_images)

    @work(thread=True, exclusive=True, group="cmp-detail")
    def _detail(self, comparison_id: int, with_images: bool) -> None:
        with closing(queries.connect(self.db)) as conn:
            c = queries.comparison(conn, comparison_id)
            ds_row = queries.dataset(conn, c["dataset_id"]) if c and c["dataset_id"] else None
        if c is None:
            return
        self.deliver(self._show_detail, c)
        if not with_images:
            return
        images, note = (None, None), ""
        if ds_row is None:
            note = "(no dataset recorded for this pool)"
        else:
            try:
                cache = self.app.dataset_cache  # type: ignore[attr-defined]
                ds = cache.get(ds_row["id"])
                if ds is None:
                    from pcclip_tui.control import open_registered_dataset

                    ds = cache[ds_row["id"]] = open_registered_dataset(ds_row)
                images = (ds.load_image(c["split"], c["item_i"]), ds.load_image(c["split"], c["item_j"]))
            except (PcclipError, OSError, ValueError, KeyError, IndexError, TypeError) as exc:
                note = f"(images unavailable: {exc})"
        self.deliver(self._show_images, images, note)

    def _show_detail(self, c: dict[str, Any]) -> None:
        self.query_one("#cmp-text", Static).update(quality_text(self._quality, self.pool_id) + detail_text(c))

    def _show_images(self, images: tuple[Any, Any], note: str) -> None:
        box = self.query_one("#cmp-images", Static)
        if images[0] is None:
            box.update(Text(note, style="dim"))
            return
        box.update(ImagePair(images[0], images[1]))

    def action_pool(self, step: int) -> None:
        if not self._pools:
            return
        ids = [p["id"] for p in self._pools]
        i = ids.index(self.pool_id) if self.pool_id in ids else 0
        self.pool_id = ids[(i + step) % len(ids)]
        self.reload()

    def action_verdict(self) -> None:
        self.verdict = VERDICTS[(VERDICTS.index(self.verdict) + 1) % len(VERDICTS)]
        self.reload()

    def action_search(self) -> None:
        self.query_one("#cmp-search", Input).focus()

    def action_leave_search(self) -> None:
        self.query_one("#comparisons", DataTable).focus()

    def action_images(self) -> None:
        self.show_images = not self.show_images
        self.query_one("#cmp-images").display = self.show_images
        self.show_selected()

    @on(Input.Changed, "#cmp-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.search = event.value.strip()
        self.reload()

    @on(Input.Submitted, "#cmp-search")
    def _search_done(self, event: Input.Submitted) -> None:
        self.action_leave_search()
