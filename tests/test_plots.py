"""Terminal plots: the forgetting trade-off pairs each arm's difference and zero-shot results."""

from __future__ import annotations

from pcclip import plots as P


def _row(task: str, llm: str, n: int, mean: float) -> dict:
    return {"task": task, "llm": llm, "n": n, "mean": mean, "stderr": 0.01, "variant": "", "chance": 0.5}


def test_tradeoff_points_pair_difference_and_zero_shot_per_arm() -> None:
    rows = [
        _row("diff/mean", "base", 0, 0.50), _row("zeroshot/tb", "base", 0, 0.96),
        _row("diff/mean", "oracle", 3000, 0.56), _row("zeroshot/tb", "oracle", 3000, 0.95),
        _row("diff/mean", "smollm2", 100, 0.49),  # no zero-shot row: left out
        _row("diff/size", "oracle", 3000, 0.70),
    ]
    pts = P.tradeoff_points(rows)
    assert sorted(pts) == [("base", 0, 0.96, 0.50), ("oracle", 3000, 0.95, 0.56)]
    fig = P.figure_tradeoff(pts, color=False, width=60, height=12)
    assert "diff/mean vs zero-shot accuracy" in fig and "oracle" in fig and "base" in fig
    assert "\x1b[" not in fig
    assert P.tradeoff_points([r for r in rows if not r["task"].startswith("zeroshot/")]) == []
    assert "no run has both" in P.figure_tradeoff([])
