"""Terminal figures of the ablations (plotext), shared by the CLI and the TUI.

The data preparation (`series_vs_n`, `bars_at_n`) is separate from drawing, so a widget can draw the same
series with its own plotext instance. The N = 0 base model is one point that starts every LLM's line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Row = dict[str, Any]  # an `ablation_summary` row (see pcclip.store.queries.summary)


def series_vs_n(
    rows: Sequence[Row], task: str, variant: str | None = None
) -> dict[str, list[tuple[int, float, float]]]:
    """{llm: [(n, mean, stderr), ...]} sorted by n, with the base (n = 0) point joined to every LLM's line."""
    sel = [r for r in rows if r["task"] == task and (variant is None or r["variant"] in (variant, ""))]
    base = [(0, float(r["mean"]), float(r["stderr"] or 0.0)) for r in sel if r["llm"] == "base"]
    out: dict[str, list[tuple[int, float, float]]] = {}
    for r in sel:
        if r["llm"] == "base":
            continue
        out.setdefault(r["llm"], []).append((int(r["n"]), float(r["mean"]), float(r["stderr"] or 0.0)))
    for pts in out.values():
        if base and not any(n == 0 for n, _m, _s in pts):
            pts.extend(base[:1])
        pts.sort()
    if not out and base:
        out["base"] = base[:1]
    return out


def bars_at_n(
    rows: Sequence[Row], task: str, n: int | None = None
) -> tuple[int | None, list[tuple[str, float, float]]]:
    """(the N shown, [(llm, mean, stderr)]) at N = `n` (default: the largest N), with the base model first."""
    sel = [r for r in rows if r["task"] == task]
    ns = sorted({int(r["n"]) for r in sel if r["llm"] != "base"})
    if n is None:
        n = ns[-1] if ns else None
    bars = [("base (N=0)", float(r["mean"]), float(r["stderr"] or 0.0)) for r in sel if r["llm"] == "base"][:1]
    bars += sorted(
        (r["llm"], float(r["mean"]), float(r["stderr"] or 0.0)) for r in sel if r["llm"] != "base" and r["n"] == n
    )
    return n, bars


def chance_of(rows: Sequence[Row], task: str) -> float | None:
    vals = [r["chance"] for r in rows if r["task"] == task and r.get("chance") is not None]
    return float(vals[0]) if vals else None


def _plt(width: int, height: int, color: bool):
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear" if color else "clear")
    return plt


# One marker per series: without colour (pipes, files, the README), only the marker tells series apart.
MARKERS = ["dot", "x", "+", "o", "*", "@", "#", "$"]


def _scatter_series(plt: Any, points: Sequence[tuple], color: bool) -> None:
    """Scatter (series, n, x, y) points, one series per name, one marker per series without colour."""
    for i, name in enumerate(sorted({p[0] for p in points})):
        mine = [p for p in points if p[0] == name]
        plt.scatter([p[2] for p in mine], [p[3] for p in mine], label=name,
                    marker="hd" if color else MARKERS[i % len(MARKERS)])


def _build(plt: Any, color: bool) -> str:
    out = plt.build()
    if not color:
        import re

        out = re.sub(r"\x1b\[[0-9;]*m", "", out)
    return out


def figure_vs_n(rows: Sequence[Row], task: str, *, width: int = 80, height: int = 20, color: bool = True) -> str:
    """Accuracy against N (categorical axis: the N values are far apart), one line per LLM, chance dashed."""
    series = series_vs_n(rows, task)
    if not series:
        return f"(no results for {task} yet)"
    ns = sorted({n for pts in series.values() for n, _m, _s in pts})
    pos = {n: i for i, n in enumerate(ns)}
    plt = _plt(width, height, color)
    for i, (llm, pts) in enumerate(sorted(series.items())):
        plt.plot([pos[n] for n, _m, _s in pts], [m for _n, m, _s in pts], label=llm, marker=MARKERS[i % len(MARKERS)])
    ch = chance_of(rows, task)
    if ch is not None:
        plt.hline(ch)
    plt.xticks(list(range(len(ns))), [str(n) for n in ns])
    plt.xlabel("N (comparisons)")
    plt.title(f"{task}: accuracy vs N" + (f" (chance {ch:.2f})" if ch is not None else ""))
    return _build(plt, color)


def figure_bars(
    rows: Sequence[Row], task: str, n: int | None = None, *, width: int = 80, height: int = 12, color: bool = True
) -> str:
    """Horizontal bars, one per LLM at one N (default the largest), the base model first."""
    n, bars = bars_at_n(rows, task, n)
    if not bars:
        return f"(no results for {task} yet)"
    plt = _plt(width, max(height, 3 * len(bars) + 3), color)
    labels = [f"{name} {m:.3f}±{s:.3f}" for name, m, s in bars]
    plt.bar(labels, [m for _l, m, _s in bars], orientation="h", width=0.4)
    plt.title(f"{task} at N={n}" if n is not None else task)
    return _build(plt, color)


def figure_lift_vs_quality(
    points: Sequence[tuple[str, int, float, float]], *, quality: str = "claim precision", width: int = 80,
    height: int = 16, color: bool = True,
) -> str:
    """Accuracy lift over the base model against comparison quality: one marker series per LLM, one point per N.

    `points` are (llm, n, quality, lift) rows.
    """
    if not points:
        return "(no graded comparisons yet: `pcclip grade --all`)"
    plt = _plt(width, height, color)
    _scatter_series(plt, points, color)
    plt.hline(0.0)
    plt.xlabel(quality)
    plt.ylabel("lift")
    plt.title(f"diff/mean lift over base vs {quality} (one point per LLM x N)")
    return _build(plt, color)


def tradeoff_points(rows: Sequence[Row], diff_task: str = "diff/mean") -> list[tuple[str, int, float, float]]:
    """(llm, n, zero-shot mean, difference mean) per arm x N that has both (the first zeroshot/ task)."""
    zs_tasks = sorted({r["task"] for r in rows if str(r["task"]).startswith("zeroshot/")})
    if not zs_tasks:
        return []
    zs = {(r["llm"], int(r["n"])): float(r["mean"]) for r in rows if r["task"] == zs_tasks[0]}
    return [(r["llm"], int(r["n"]), zs[(r["llm"], int(r["n"]))], float(r["mean"]))
            for r in rows if r["task"] == diff_task and (r["llm"], int(r["n"])) in zs]


def figure_tradeoff(points: Sequence[tuple[str, int, float, float]], *, width: int = 80, height: int = 16,
                    color: bool = True, title: str = "diff/mean vs zero-shot accuracy (one point per LLM x N)") -> str:
    """The forgetting trade-off: difference accuracy (y) against zero-shot accuracy (x), one series per LLM (or
    per sweep variant). `points` are (series, n, zero-shot, difference) rows; up and to the right is better."""
    if not points:
        return "(no run has both a difference and a zero-shot result yet)"
    plt = _plt(width, height, color)
    _scatter_series(plt, points, color)
    plt.xlabel("zero-shot accuracy")
    plt.ylabel("difference accuracy")
    plt.title(title)
    return _build(plt, color)
