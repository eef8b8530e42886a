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

# Per comparison pool (one LLM): the attribute grader's summary over the comparisons the paper's filter accepted
# (see docs/grading.md), the filter's acceptance rate, length, and lexical diversity: distinct-1 / distinct-2 =
# unique words / bigrams over all words / bigrams of the pool's first 200 accepted comparisons (a fixed-size sample,
# so pools of different sizes compare fairly). Owned by the grader (pcclip/llm/grade.py, pcclip/store/quality.py).
COMPARISON_QUALITY = """
CREATE VIEW comparison_quality AS
WITH RECURSIVE
sample AS (
  SELECT c.pool_id, c.id AS cid,
         lower(replace(replace(replace(replace(replace(replace(replace(replace(c.text, ',', ' '), '.', ' '),
               ';', ' '), ':', ' '), '!', ' '), '?', ' '), '"', ' '), char(10), ' ')) || ' ' AS t,
         ROW_NUMBER() OVER (PARTITION BY c.pool_id ORDER BY c.idx) AS rn
  FROM comparison c WHERE c.accepted = 1 AND c.text <> ''
),
words(pool_id, cid, pos, w, rest) AS (
  SELECT pool_id, cid, 0, '', t FROM sample WHERE rn <= 200
  UNION ALL
  SELECT pool_id, cid, pos + 1, substr(rest, 1, instr(rest, ' ') - 1), substr(rest, instr(rest, ' ') + 1)
  FROM words WHERE rest <> ''
),
tok AS (SELECT pool_id, cid, w, ROW_NUMBER() OVER (PARTITION BY cid ORDER BY pos) AS p FROM words WHERE w <> ''),
diversity AS (
  SELECT u.pool_id, u.distinct1, b.distinct2 FROM
    (SELECT pool_id, COUNT(DISTINCT w) * 1.0 / COUNT(*) AS distinct1 FROM tok GROUP BY pool_id) u
  LEFT JOIN
    (SELECT a.pool_id, COUNT(DISTINCT a.w || ' ' || b.w) * 1.0 / COUNT(*) AS distinct2
     FROM tok a JOIN tok b ON b.cid = a.cid AND b.p = a.p + 1 GROUP BY a.pool_id) b
  ON b.pool_id = u.pool_id
),
per_pool AS (
  SELECT c.pool_id,
         COUNT(*) AS n_comparisons,
         SUM(c.accepted) AS n_accepted,
         SUM(CASE WHEN c.accepted = 1 AND g.comparison_id IS NOT NULL THEN 1 ELSE 0 END) AS n_graded,
         SUM(CASE WHEN c.accepted = 1 THEN g.n_claims END) AS claims,
         SUM(CASE WHEN c.accepted = 1 THEN g.n_correct END) AS correct,
         SUM(CASE WHEN c.accepted = 1 THEN g.n_reversed END) AS reversed,
         SUM(CASE WHEN c.accepted = 1 THEN g.n_wrong END) AS wrong,
         SUM(CASE WHEN c.accepted = 1 THEN g.n_hallucinated END) AS hallucinated,
         SUM(CASE WHEN c.accepted = 1 THEN g.n_true_diffs END) AS true_diffs,
         SUM(CASE WHEN c.accepted = 1 THEN g.n_covered END) AS covered,
         SUM(CASE WHEN c.accepted = 1 THEN g.fully_correct END) AS fully_correct,
         SUM(CASE WHEN c.accepted = 1 AND g.n_hallucinated > 0 THEN 1 ELSE 0 END) AS with_hallucination,
         SUM(CASE WHEN c.accepted = 1 AND g.n_claims = 0 THEN 1 ELSE 0 END) AS without_claims,
         AVG(CASE WHEN c.accepted = 1 THEN length(c.text) END) AS mean_chars,
         AVG(CASE WHEN c.accepted = 1 THEN length(trim(c.text)) - length(replace(trim(c.text), ' ', '')) + 1 END)
           AS mean_words,
         MAX(g.grader) AS grader
  FROM comparison c LEFT JOIN comparison_grade g ON g.comparison_id = c.id
  GROUP BY c.pool_id
)
SELECT p.id AS pool_id, l.name AS llm, l.id AS llm_id, l.backend AS backend, p.dataset_id AS dataset_id,
       p.prompt_id AS prompt_id,
       q.n_comparisons, q.n_accepted,
       q.n_accepted * 1.0 / q.n_comparisons AS acceptance_rate,
       q.n_graded,
       q.claims * 1.0 / NULLIF(q.n_graded, 0) AS claims_per_comparison,
       q.correct * 1.0 / NULLIF(q.claims, 0) AS claim_precision,
       q.covered * 1.0 / NULLIF(q.true_diffs, 0) AS diff_recall,
       q.reversed * 1.0 / NULLIF(q.claims, 0) AS direction_error_rate,
       q.wrong * 1.0 / NULLIF(q.claims, 0) AS wrong_rate,
       q.hallucinated * 1.0 / NULLIF(q.claims, 0) AS hallucination_rate,
       q.with_hallucination * 1.0 / NULLIF(q.n_graded, 0) AS hallucinating_share,
       q.fully_correct * 1.0 / NULLIF(q.n_graded, 0) AS fully_correct_rate,
       q.without_claims * 1.0 / NULLIF(q.n_graded, 0) AS no_claim_rate,
       q.mean_chars, q.mean_words,
       d.distinct1, d.distinct2,
       q.grader
FROM per_pool q
JOIN pool p ON p.id = q.pool_id
JOIN llm l ON l.id = p.llm_id
LEFT JOIN diversity d ON d.pool_id = q.pool_id
"""

VIEWS: dict[str, str] = {
    "results": RESULTS,
    "run_summary": RUN_SUMMARY,
    "ablation_summary": ABLATION_SUMMARY,
    "comparison_quality": COMPARISON_QUALITY,
}
