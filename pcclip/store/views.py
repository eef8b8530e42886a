"""SQL views over the tables: derived, so they are dropped and recreated on every writable open."""

from __future__ import annotations

# One row per evaluation number, with the arm it belongs to. A result reused by several
# experiments (same job key) appears once per experiment.
RESULTS = """
CREATE VIEW results AS
SELECT r.id AS result_id,
       e.id AS experiment_id,
       e.name AS experiment,
       ru.id AS run_id,
       ru.arm AS llm,
       ru.n AS n,
       ru.variant AS variant,
       ru.seed AS run_seed,
       r.task AS task,
       r.seed AS eval_seed,
       r.metric AS metric,
       r.value AS value,
       r.chance AS chance,
       r.n_examples AS n_examples
FROM result r
JOIN run ru ON ru.id = r.run_id
LEFT JOIN experiment_job ej ON ej.job_id = r.job_id
LEFT JOIN experiment e ON e.id = ej.experiment_id
"""

# Per run: the mean over evaluation seeds (pair-sampling seeds) and their standard error.
RUN_SUMMARY = """
CREATE VIEW run_summary AS
SELECT experiment_id, experiment, run_id, llm, n, variant, run_seed, task, metric,
       AVG(value) AS mean,
       CASE WHEN COUNT(*) > 1 THEN
         sqrt(max(0.0, (SUM(value * value) - COUNT(*) * AVG(value) * AVG(value)) / (COUNT(*) - 1)))
         / sqrt(COUNT(*))
       END AS stderr,
       COUNT(*) AS n_seeds,
       MAX(chance) AS chance
FROM results
GROUP BY experiment_id, run_id, task, metric
"""

# Per arm (LLM x N x variant) and task: mean and standard error across training seeds
# (each run first averaged over its evaluation seeds). With a single run, the standard
# error is the one over evaluation seeds; `se_over` says which.
ABLATION_SUMMARY = """
CREATE VIEW ablation_summary AS
SELECT experiment_id, experiment, llm, n, variant, task, metric,
       AVG(mean) AS mean,
       CASE WHEN COUNT(*) > 1 THEN
         sqrt(max(0.0, (SUM(mean * mean) - COUNT(*) * AVG(mean) * AVG(mean)) / (COUNT(*) - 1)))
         / sqrt(COUNT(*))
       ELSE MAX(stderr) END AS stderr,
       CASE WHEN COUNT(*) > 1 THEN 'runs' ELSE 'eval_seeds' END AS se_over,
       COUNT(*) AS n_runs,
       SUM(n_seeds) AS n_rows,
       MAX(chance) AS chance
FROM run_summary
GROUP BY experiment_id, llm, n, variant, task, metric
"""

VIEWS: dict[str, str] = {
    "results": RESULTS,
    "run_summary": RUN_SUMMARY,
    "ablation_summary": ABLATION_SUMMARY,
}
