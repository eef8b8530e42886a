"""Plotext drawings for the TUI, onto a textual-plotext `PlotextPlot`'s own `plt`.

The series come from `pcclip.plots` (the same data preparation the CLI's figures use: the N = 0 base model
starts every LLM's line; bars at the largest N with the base model first); only the drawing is here, because
the widget owns its plotext instance and size.
"""

from __future__ import annotations

from typing import Any

from pcclip import plots as lib_plots


def _reset(plt: Any) -> None:
    plt.clear_data()
    plt.clear_figure()


def one_variant(rows: list[dict[str, Any]], task: str, variant: str | None) -> tuple[list[dict[str, Any]], str]:
    """With several finetune variants, plot one (the highlighted row's): 25 lines would be unreadable."""
    variants = sorted({r["variant"] for r in rows if r["task"] == task and r["llm"] != "base"})
    if len(variants) <= 1:
        return rows, ""
    chosen = variant if variant in variants else variants[0]
    keep = [r for r in rows if r["llm"] == "base" or r["variant"] == chosen]
    return keep, f" [variant {chosen}; {len(variants)} in all]"


def accuracy_vs_n(plt: Any, rows: list[dict[str, Any]], task: str, metric: str, variant: str | None = None) -> None:
    """One line per LLM arm: mean over runs against N (categorical x: the N values are roughly log-spaced)."""
    _reset(plt)
    rows, note = one_variant([r for r in rows if r["metric"] == metric], task, variant)
    series = lib_plots.series_vs_n(rows, task)
    ns = sorted({n for pts in series.values() for n, _m, _s in pts})
    if not ns:
        plt.title(f"no rows for {task}")
        return
    pos = {n: i for i, n in enumerate(ns)}
    for llm, pts in sorted(series.items()):
        plt.plot([pos[n] for n, _m, _s in pts], [100 * m for _n, m, _s in pts], label=llm, marker="braille")
    chance = lib_plots.chance_of(rows, task)
    if chance is not None:
        plt.hline(100 * chance, "gray")
    plt.xticks(list(range(len(ns))), [str(n) for n in ns])
    plt.xlabel("N comparisons")
    plt.ylabel(f"{metric} %")
    plt.title(f"{task}: {metric} vs N" + (f" (chance {100 * chance:.0f}%)" if chance is not None else "") + note)


def per_llm_bars(plt: Any, rows: list[dict[str, Any]], task: str, metric: str, variant: str | None = None) -> None:
    """Each LLM arm at the largest N, next to the base model."""
    _reset(plt)
    rows, note = one_variant([r for r in rows if r["metric"] == metric], task, variant)
    n, bars = lib_plots.bars_at_n(rows, task)
    if not bars:
        plt.title(f"no rows for {task}")
        return
    plt.bar([b[0] for b in bars], [100 * b[1] for b in bars])
    chance = lib_plots.chance_of(rows, task)
    if chance is not None:
        plt.hline(100 * chance, "gray")
    plt.ylabel(f"{metric} %")
    plt.title(f"{task}: {metric} per LLM at N = {n}{note}")


def loss_curves(plt: Any, series: dict[str, list[dict[str, Any]]], title: str, name: str = "loss") -> None:
    """One line per run (label -> [{step, value}])."""
    _reset(plt)
    drawn = False
    for label, pts in series.items():
        if pts:
            plt.plot([p["step"] for p in pts], [p["value"] for p in pts], label=label, marker="braille")
            drawn = True
    plt.xlabel("step")
    plt.ylabel(name)
    plt.title(title if drawn else f"{title}: no {name} recorded")


def tradeoff(plt: Any, rows: list[dict[str, Any]], variant: str | None = None) -> None:
    """The forgetting trade-off: diff/mean (y) against zero-shot accuracy (x), one point per LLM x N."""
    _reset(plt)
    rows, note = one_variant([r for r in rows if r["metric"] == "accuracy"], "diff/mean", variant)
    points = lib_plots.tradeoff_points(rows)
    if not points:
        plt.title("no arm has both diff/mean and a zero-shot result yet")
        return
    for llm in sorted({p[0] for p in points}):
        mine = [p for p in points if p[0] == llm]
        plt.scatter([100 * p[2] for p in mine], [100 * p[3] for p in mine], label=llm, marker="hd")
    plt.xlabel("zero-shot accuracy %")
    plt.ylabel("diff/mean %")
    plt.title("diff/mean vs zero-shot accuracy (one point per LLM x N)" + note)
