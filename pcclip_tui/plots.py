"""Plotext drawings for the TUI (onto a textual-plotext `PlotextPlot`'s `plt`).

Each function takes the plotext module-like object and plain rows, so the same drawing code serves the
Results screen and the Run detail screen.
"""

from __future__ import annotations

from typing import Any


def _title(plt: Any, title: str) -> None:
    plt.title(title)


def accuracy_vs_n(plt: Any, rows: list[dict[str, Any]], task: str, metric: str) -> None:
    """One line per LLM arm: mean over runs against N (the base model, arm 'base', is every line's N = 0)."""
    plt.clear_data()
    plt.clear_figure()
    rows = [r for r in rows if r["task"] == task and r["metric"] == metric]
    base = [r for r in rows if r["llm"] == "base" and r["n"] == 0]
    ns = sorted({r["n"] for r in rows})
    if not ns:
        _title(plt, f"no rows for {task}")
        return
    pos = {n: i for i, n in enumerate(ns)}  # categorical x: N values are roughly log-spaced
    for llm in sorted({r["llm"] for r in rows} - {"base"}):
        arm = sorted((r for r in rows if r["llm"] == llm), key=lambda r: r["n"])
        pts = ([base[0]] if base else []) + [r for r in arm if r["n"] != 0]
        plt.plot([pos[r["n"]] for r in pts], [100 * r["mean"] for r in pts], label=llm, marker="braille")
    chance = next((r["chance"] for r in rows if r["chance"] is not None), None)
    if chance is not None:
        plt.hline(100 * chance, "gray")
    plt.xticks(list(range(len(ns))), [str(n) for n in ns])
    plt.xlabel("N comparisons")
    plt.ylabel(f"{metric} %")
    _title(plt, f"{task}: {metric} vs N" + (f" (chance {100 * chance:.0f}%)" if chance is not None else ""))


def per_llm_bars(plt: Any, rows: list[dict[str, Any]], task: str, metric: str) -> None:
    """Each LLM arm at its largest N, next to the base model."""
    plt.clear_data()
    plt.clear_figure()
    rows = [r for r in rows if r["task"] == task and r["metric"] == metric]
    best: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["llm"] not in best or r["n"] > best[r["llm"]]["n"]:
            best[r["llm"]] = r
    if not best:
        _title(plt, f"no rows for {task}")
        return
    order = sorted(best, key=lambda k: (k != "base", k))
    labels = [f"{k} N={best[k]['n']}" for k in order]
    plt.bar(labels, [100 * best[k]["mean"] for k in order])
    chance = next((r["chance"] for r in rows if r["chance"] is not None), None)
    if chance is not None:
        plt.hline(100 * chance, "gray")
    plt.ylabel(f"{metric} %")
    _title(plt, f"{task}: each LLM at its largest N")


def loss_curves(plt: Any, series: dict[str, list[dict[str, Any]]], title: str, name: str = "loss") -> None:
    """One line per run (label -> [{step, value}])."""
    plt.clear_data()
    plt.clear_figure()
    drawn = False
    for label, pts in series.items():
        if pts:
            plt.plot([p["step"] for p in pts], [p["value"] for p in pts], label=label, marker="braille")
            drawn = True
    plt.xlabel("step")
    plt.ylabel(name)
    _title(plt, title if drawn else f"{title}: no {name} recorded")
