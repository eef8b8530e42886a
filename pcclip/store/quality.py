"""Comparison quality per LLM, and how it relates to the accuracy lift PC-CLIP gets from those comparisons.

`quality_table` reads the `comparison_quality` view (one row per comparison pool), optionally restricted to the
pools an experiment's runs trained on, and labelled with their arm names. `quality_vs_lift` joins that with the
difference-accuracy lift over the base model at each N (from `ablation_summary`), and `quality_lift_correlation`
gives the Pearson and Spearman correlations across arms and N.
"""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import text as sql

from pcclip.errors import PcclipError
from pcclip.store.engine import Store

#: the columns `quality_table` shows, in order (all from the comparison_quality view, plus `arm`)
QUALITY_COLUMNS = (
    "arm", "pool_id", "llm", "backend", "n_comparisons", "acceptance_rate", "n_graded", "claims_per_comparison",
    "claim_precision", "diff_recall", "direction_error_rate", "wrong_rate", "hallucination_rate",
    "hallucinating_share", "fully_correct_rate", "no_claim_rate", "mean_words", "distinct2", "directed_share",
    "directed_precision",
)
# Claims said of a named image (i, j or both), as opposed to `either` ("the difference lies in the red circle"):
# a model that never says which image is which can be precise and still useless for a *difference* objective.
_DIRECTED = """
SELECT c.pool_id,
       AVG(CASE WHEN json_extract(x.value, '$.image') <> 'either' THEN 1.0 ELSE 0.0 END) AS directed_share,
       SUM(CASE WHEN json_extract(x.value, '$.image') <> 'either' AND json_extract(x.value, '$.verdict') = 'correct'
           THEN 1.0 ELSE 0.0 END)
         / NULLIF(SUM(CASE WHEN json_extract(x.value, '$.image') <> 'either' THEN 1 ELSE 0 END), 0)
         AS directed_precision
FROM comparison c JOIN comparison_grade g ON g.comparison_id = c.id, json_each(g.detail_json, '$.claims') x
WHERE c.accepted = 1
GROUP BY c.pool_id
"""
LIFT_TASK, LIFT_METRIC, BASE_ARM = "diff/mean", "accuracy", "base"


def _query(store_or_path: Store | str | os.PathLike[str], q: str, params: dict[str, Any]) -> tuple[list[str], list]:
    if isinstance(store_or_path, Store):
        with store_or_path.session() as s:
            res = s.connection().execute(sql(q), params)
            return list(res.keys()), [tuple(r) for r in res.all()]
    from pcclip.store.readonly import query

    # the read-only helper takes positional parameters; rewrite :name to ? in order of appearance
    names: list[str] = []

    def repl(m: Any) -> str:
        names.append(m.group(1))
        return "?"

    qq = re.sub(r":([a-z_]+)", repl, q)
    try:
        return query(Path(store_or_path), qq, tuple(params[n] for n in names))
    except sqlite3.Error as exc:  # pragma: no cover - query() already maps its own errors
        raise PcclipError(f"cannot read comparison quality: {exc}") from exc


def _experiment_id(store_or_path: Store | str | os.PathLike[str], experiment: int | str) -> int:
    _, rows = _query(
        store_or_path,
        "SELECT id FROM experiment WHERE CAST(id AS TEXT) = :e OR name = :e ORDER BY id DESC",
        {"e": str(experiment)},
    )
    if not rows:
        raise PcclipError(f"no experiment {experiment!r}; list them with `pcclip results` or `pcclip db sql`")
    return int(rows[0][0])


def quality_table(
    store_or_path: Store | str | os.PathLike[str], experiment: int | str | None = None
) -> tuple[list[str], list[tuple]]:
    """(columns, rows) of comparison quality: one row per pool, or per (arm, pool) an experiment trained on."""
    cols = ", ".join(f"q.{c}" for c in QUALITY_COLUMNS if c not in ("arm", "directed_share", "directed_precision"))
    cols += ", d.directed_share, d.directed_precision"
    if experiment is None:
        q = (
            f"SELECT q.llm AS arm, {cols} FROM comparison_quality q "
            f"LEFT JOIN ({_DIRECTED}) d ON d.pool_id = q.pool_id ORDER BY q.llm, q.pool_id"
        )
        params: dict[str, Any] = {}
    else:
        q = (
            f"SELECT a.arm AS arm, {cols} FROM comparison_quality q "
            f"LEFT JOIN ({_DIRECTED}) d ON d.pool_id = q.pool_id JOIN ("
            "  SELECT DISTINCT ru.arm, ru.pool_id FROM run ru JOIN experiment_job ej ON ej.job_id = ru.job_id"
            "  WHERE ej.experiment_id = :e AND ru.pool_id IS NOT NULL"
            ") a ON a.pool_id = q.pool_id ORDER BY a.arm, q.pool_id"
        )
        params = {"e": _experiment_id(store_or_path, experiment)}
    return _query(store_or_path, q, params)


LIFT_COLUMNS = ("arm", "variant", "n", "accuracy", "base_accuracy", "lift", "stderr", "claim_precision",
                "diff_recall", "direction_error_rate", "hallucination_rate", "fully_correct_rate",
                "directed_precision", "pool_id")
_QUALITY_OF_LIFT = LIFT_COLUMNS[7:13]


def quality_vs_lift(
    store_or_path: Store | str | os.PathLike[str], experiment: int | str
) -> tuple[list[str], list[tuple]]:
    """Per (arm, variant, N > 0): difference accuracy (`diff/mean`), its lift over the base model at N = 0, and the
    arm's comparison quality. Arms without a graded pool get None quality columns."""
    eid = _experiment_id(store_or_path, experiment)
    q = """
    WITH base AS (
      SELECT AVG(mean) AS acc FROM ablation_summary
      WHERE experiment_id = :e AND llm = :base AND n = 0 AND task = :task AND metric = :metric
    ),
    arms AS (
      SELECT DISTINCT ru.arm, ru.pool_id FROM run ru JOIN experiment_job ej ON ej.job_id = ru.job_id
      WHERE ej.experiment_id = :e AND ru.pool_id IS NOT NULL
    )
    SELECT s.llm, s.variant, s.n, s.mean, base.acc, s.mean - base.acc, s.stderr,
           q.claim_precision, q.diff_recall, q.direction_error_rate, q.hallucination_rate, q.fully_correct_rate,
           d.directed_precision, q.pool_id
    FROM ablation_summary s CROSS JOIN base
    LEFT JOIN arms a ON a.arm = s.llm
    LEFT JOIN comparison_quality q ON q.pool_id = a.pool_id
    LEFT JOIN (""" + _DIRECTED + """) d ON d.pool_id = a.pool_id
    WHERE s.experiment_id = :e AND s.task = :task AND s.metric = :metric AND s.n > 0 AND s.llm <> :base
    ORDER BY s.llm, s.variant, s.n
    """
    _, rows = _query(
        store_or_path, q, {"e": eid, "base": BASE_ARM, "task": LIFT_TASK, "metric": LIFT_METRIC}
    )
    return list(LIFT_COLUMNS), rows


def quality_lift_correlation(
    store_or_path: Store | str | os.PathLike[str], experiment: int | str, quality: str = "claim_precision"
) -> dict[str, Any]:
    """Pearson and Spearman correlation of `quality` with the lift, across arms and N (rows with both values).

    Returns {"quality", "n_points", "pearson_r", "pearson_p", "spearman_rho", "spearman_p"}; the statistics are None
    with fewer than 3 points or when either variable is constant.
    """
    cols, rows = quality_vs_lift(store_or_path, experiment)
    if quality not in _QUALITY_OF_LIFT:
        raise PcclipError(f"unknown quality column {quality!r}; choose one of {', '.join(_QUALITY_OF_LIFT)}")
    qi, li = cols.index(quality), cols.index("lift")
    pts = [(float(r[qi]), float(r[li])) for r in rows if r[qi] is not None and r[li] is not None]
    out: dict[str, Any] = {"quality": quality, "n_points": len(pts), "pearson_r": None, "pearson_p": None,
                           "spearman_rho": None, "spearman_p": None}
    if len(pts) < 3 or len({p[0] for p in pts}) < 2 or len({p[1] for p in pts}) < 2:
        return out
    from scipy import stats  # heavy-ish import, only here

    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    pr = stats.pearsonr(xs, ys)
    sr = stats.spearmanr(xs, ys)
    out.update(pearson_r=float(pr[0]), pearson_p=float(pr[1]), spearman_rho=float(sr[0]), spearman_p=float(sr[1]))
    return out
