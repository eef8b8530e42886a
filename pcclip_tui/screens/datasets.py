"""Datasets: registered datasets, their splits and items, with an image preview drawn in the terminal."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static

from pcclip.errors import PcclipError
from pcclip_tui import queries
from pcclip_tui.screens.base import DbScreen, selected_key, sync_table
from pcclip_tui.widgets import HalfBlockImage, one_line

PAGE = 500


def describe_item(item: Any, classnames: list[str] | None) -> Text:
    """Caption, label and attribute record of one dataset item."""
    text = Text()
    text.append(f"#{item.index}  ", style="bold")
    text.append(f"{item.image}\n", style="dim")
    if item.caption:
        text.append(item.caption + "\n")
    if item.label is not None:
        name = classnames[item.label] if classnames and 0 <= item.label < len(classnames) else ""
        text.append(f"label {item.label} {name}\n", style="cyan")
    if item.attributes:
        for k, v in item.attributes.items():
            text.append(f"{k}: ", style="bold")
            text.append(f"{json.dumps(v) if not isinstance(v, str) else v}\n")
    return text


class DatasetsScreen(DbScreen):
    TITLE_TEXT = "Datasets"
    BINDINGS = [
        Binding("enter", "open", "Open dataset", priority=True),
        Binding("s", "next_split", "Split"),
        Binding("right_square_bracket", "page(1)", "Next page"),
        Binding("left_square_bracket", "page(-1)", "Prev page"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.dataset_row: dict[str, Any] | None = None
        self.ds: Any = None
        self.split: str | None = None
        self.page = 0
        self._rows: dict[str, dict[str, Any]] = {}

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        with Horizontal(id="ds-body"):
            with Vertical(id="ds-left"):
                t = DataTable(id="datasets", cursor_type="row")
                t.border_title = "Datasets (Enter: open)"
                t.add_columns("id", "name", "kind", "items")
                yield t
                items = DataTable(id="items", cursor_type="row", zebra_stripes=True)
                items.border_title = "Items"
                items.add_columns("#", "caption / label")
                yield items
            with Vertical(id="ds-right"):
                yield Static("", id="preview")
                yield Static("Open a dataset to browse its images.", id="item-info")
        yield from self.compose_bottom()

    def fetch(self, conn: sqlite3.Connection) -> list[dict[str, Any]]:
        return queries.datasets(conn)

    def show(self, data: list[dict[str, Any]]) -> None:
        self._rows = {str(d["id"]): d for d in data}
        sync_table(self.query_one("#datasets", DataTable), [
            (d["id"], [str(d["id"]), d["name"], d["kind"], str(d["n_items"])]) for d in data
        ])
        if self.dataset_row is None and data:
            self.open_dataset(data[0])
        elif not data:
            self.query_one("#item-info", Static).update(
                "No datasets registered yet. They appear when a run builds its data (`pcclip run`, or "
                "`pcclip testbed build`); `pcclip datasets list` shows the kinds."
            )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "datasets":
            self.action_open()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "items" and event.row_key is not None and self.ds is not None:
            self._load_preview(self.ds, self.split, int(event.row_key.value))

    def action_open(self) -> None:
        if self.focused is self.query_one("#items", DataTable):
            return  # Enter on an item: its preview is already shown
        key = selected_key(self.query_one("#datasets", DataTable))
        if key is not None and key in self._rows:
            self.open_dataset(self._rows[key])

    def open_dataset(self, row: dict[str, Any]) -> None:
        self.dataset_row, self.ds, self.split, self.page = row, None, None, 0
        self.query_one("#items", DataTable).border_title = f"{row['name']}: loading…"
        self._open(row)

    @work(thread=True, exclusive=True, group="ds-open")
    def _open(self, row: dict[str, Any]) -> None:
        cache = self.app.dataset_cache  # type: ignore[attr-defined]
        try:
            ds = cache.get(row["id"])
            if ds is None:
                from pcclip_tui.control import open_registered_dataset

                ds = cache[row["id"]] = open_registered_dataset(row)
            splits = list(ds.splits())
        except (PcclipError, OSError, ValueError, KeyError, TypeError) as exc:
            self.deliver(self._open_failed, row, str(exc))
            return
        self.deliver(self._opened, row, ds, splits)

    def _open_failed(self, row: dict[str, Any], message: str) -> None:
        self.query_one("#items", DataTable).border_title = f"{row['name']}: cannot open"
        self.query_one("#item-info", Static).update(Text(f"Cannot open {row['name']} ({row['kind']} at "
                                                         f"{row['root']}):\n{message}", style="red"))

    def _opened(self, row: dict[str, Any], ds: Any, splits: list[str]) -> None:
        if row is not self.dataset_row:
            return
        self.ds, self.splits = ds, splits
        self.split = splits[0] if splits else None
        self.load_items()

    def action_next_split(self) -> None:
        if self.ds is None or not getattr(self, "splits", None):
            return
        i = self.splits.index(self.split) if self.split in self.splits else -1
        self.split, self.page = self.splits[(i + 1) % len(self.splits)], 0
        self.load_items()

    def action_page(self, step: int) -> None:
        if self.ds is None:
            return
        self.page = max(0, self.page + step)
        self.load_items()

    def load_items(self) -> None:
        if self.ds is not None and self.split is not None:
            self._items(self.ds, self.split, self.page)

    @work(thread=True, exclusive=True, group="ds-items")
    def _items(self, ds: Any, split: str, page: int) -> None:
        items = ds.items(split)
        total = len(items)
        page = min(page, max(0, (total - 1) // PAGE))
        chunk = [items[i] for i in range(page * PAGE, min(total, (page + 1) * PAGE))]
        self.deliver(self._show_items, ds, split, page, total, chunk)

    def _show_items(self, ds: Any, split: str, page: int, total: int, chunk: list[Any]) -> None:
        if ds is not self.ds:
            return
        self.page = page
        names = ds.classnames
        table = self.query_one("#items", DataTable)
        table.clear()
        for it in chunk:
            label = it.caption or (names[it.label] if names and it.label is not None else str(it.image))
            table.add_row(str(it.index), one_line(label, 80), key=str(it.index))
        first = page * PAGE
        table.border_title = (
            f"{split} split: {first}-{first + len(chunk) - 1} of {total}" if chunk else f"{split} split is empty"
        )
        table.border_subtitle = f"s: split ({' '.join(self.splits)})"
        if chunk:
            self._load_preview(ds, split, chunk[0].index)

    @work(thread=True, exclusive=True, group="ds-preview")
    def _load_preview(self, ds: Any, split: str | None, index: int) -> None:
        if split is None:
            return
        try:
            item = ds.items(split)[index]
            image = ds.load_image(split, index)
        except Exception as exc:  # noqa: BLE001 - a broken image file must not crash the browser
            self.deliver(self._show_preview, None, Text(f"cannot load image {index}: {exc}", "red"))
            return
        self.deliver(self._show_preview, image, describe_item(item, ds.classnames))

    def _show_preview(self, image: Any, info: Text) -> None:
        preview = self.query_one("#preview", Static)
        preview.update(HalfBlockImage(image) if image is not None else "")
        self.query_one("#item-info", Static).update(info)
