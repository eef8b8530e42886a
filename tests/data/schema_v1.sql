PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE experiment (
	id INTEGER NOT NULL, 
	name VARCHAR NOT NULL, 
	spec_text VARCHAR NOT NULL, 
	spec_hash VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO experiment VALUES(1,'old',replace('[dataset]\nkind="testbed"\n','\n',char(10)),'oldhash','2026-12-04 23:04:56.853641');
CREATE TABLE dataset (
	id INTEGER NOT NULL, 
	name VARCHAR NOT NULL, 
	kind VARCHAR NOT NULL, 
	root VARCHAR NOT NULL, 
	config_json VARCHAR NOT NULL, 
	config_hash VARCHAR NOT NULL, 
	n_items INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE job (
	id INTEGER NOT NULL, 
	"key" VARCHAR NOT NULL, 
	kind VARCHAR NOT NULL, 
	label VARCHAR NOT NULL, 
	params_json VARCHAR NOT NULL, 
	deps_json VARCHAR NOT NULL, 
	status VARCHAR NOT NULL, 
	pid INTEGER, 
	host VARCHAR, 
	heartbeat_at DATETIME, 
	started_at DATETIME, 
	ended_at DATETIME, 
	progress FLOAT NOT NULL, 
	message VARCHAR NOT NULL, 
	error VARCHAR, 
	log_path VARCHAR, 
	attempt INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO job VALUES(1,'k-eval','eval','','{}','[]','done',NULL,NULL,NULL,NULL,NULL,0.0,'',NULL,NULL,0,'2026-12-04 23:04:56.858069');
CREATE TABLE llm (
	id INTEGER NOT NULL, 
	name VARCHAR NOT NULL, 
	backend VARCHAR NOT NULL, 
	model_id VARCHAR NOT NULL, 
	file_sha256 VARCHAR, 
	params_json VARCHAR NOT NULL, 
	"key" VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO llm VALUES(1,'oracle','template','oracle',NULL,'{}','llm1','2026-12-04 23:04:56.861634');
CREATE TABLE experiment_job (
	experiment_id INTEGER NOT NULL, 
	job_id INTEGER NOT NULL, 
	PRIMARY KEY (experiment_id, job_id), 
	FOREIGN KEY(experiment_id) REFERENCES experiment (id), 
	FOREIGN KEY(job_id) REFERENCES job (id)
);
INSERT INTO experiment_job VALUES(1,1);
CREATE TABLE pool (
	id INTEGER NOT NULL, 
	"key" VARCHAR NOT NULL, 
	dataset_id INTEGER, 
	llm_id INTEGER NOT NULL, 
	split VARCHAR NOT NULL, 
	prompt_id VARCHAR NOT NULL, 
	seed INTEGER NOT NULL, 
	n_target INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(dataset_id) REFERENCES dataset (id), 
	FOREIGN KEY(llm_id) REFERENCES llm (id)
);
INSERT INTO pool VALUES(1,'pool1',NULL,1,'pool','paper-v1',0,0,'2026-12-04 23:04:56.863107');
CREATE TABLE artifact (
	id INTEGER NOT NULL, 
	path VARCHAR NOT NULL, 
	sha256 VARCHAR NOT NULL, 
	bytes INTEGER NOT NULL, 
	kind VARCHAR NOT NULL, 
	job_id INTEGER, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(job_id) REFERENCES job (id)
);
CREATE TABLE comparison (
	id INTEGER NOT NULL, 
	pool_id INTEGER NOT NULL, 
	idx INTEGER NOT NULL, 
	item_i INTEGER NOT NULL, 
	item_j INTEGER NOT NULL, 
	caption_i VARCHAR NOT NULL, 
	caption_j VARCHAR NOT NULL, 
	prompt_id VARCHAR NOT NULL, 
	raw_text VARCHAR NOT NULL, 
	text VARCHAR NOT NULL, 
	accepted BOOLEAN NOT NULL, 
	reject_reason VARCHAR, 
	tokens INTEGER NOT NULL, 
	seconds FLOAT NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (pool_id, idx), 
	FOREIGN KEY(pool_id) REFERENCES pool (id)
);
INSERT INTO comparison VALUES(1,1,0,1,2,'','','','The first image shows a big red square, while the second shows a small blue circle.','The first image shows a big red square, while the second shows a small blue circle.',1,NULL,0,0.0,'2026-12-04 23:04:56.864015');
CREATE TABLE run (
	id INTEGER NOT NULL, 
	job_id INTEGER, 
	arm VARCHAR NOT NULL, 
	llm_id INTEGER, 
	pool_id INTEGER, 
	n INTEGER NOT NULL, 
	seed INTEGER NOT NULL, 
	variant VARCHAR NOT NULL, 
	base_model VARCHAR NOT NULL, 
	config_json VARCHAR NOT NULL, 
	checkpoint_artifact_id INTEGER, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(job_id) REFERENCES job (id), 
	FOREIGN KEY(llm_id) REFERENCES llm (id), 
	FOREIGN KEY(pool_id) REFERENCES pool (id), 
	FOREIGN KEY(checkpoint_artifact_id) REFERENCES artifact (id)
);
INSERT INTO run VALUES(1,NULL,'oracle',NULL,NULL,100,0,'','','{}',NULL,'2026-12-04 23:04:56.864159');
INSERT INTO run VALUES(2,NULL,'base',NULL,NULL,0,0,'','','{}',NULL,'2026-12-04 23:04:56.866035');
CREATE TABLE comparison_grade (
	comparison_id INTEGER NOT NULL, 
	grader VARCHAR NOT NULL, 
	n_claims INTEGER NOT NULL, 
	n_correct INTEGER NOT NULL, 
	n_reversed INTEGER NOT NULL, 
	n_wrong INTEGER NOT NULL, 
	n_hallucinated INTEGER NOT NULL, 
	n_true_diffs INTEGER NOT NULL, 
	n_covered INTEGER NOT NULL, 
	fully_correct BOOLEAN NOT NULL, 
	detail_json VARCHAR NOT NULL, 
	PRIMARY KEY (comparison_id), 
	FOREIGN KEY(comparison_id) REFERENCES comparison (id)
);
CREATE TABLE metric (
	id INTEGER NOT NULL, 
	run_id INTEGER NOT NULL, 
	step INTEGER NOT NULL, 
	name VARCHAR NOT NULL, 
	value FLOAT NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(run_id) REFERENCES run (id)
);
INSERT INTO metric VALUES(1,1,0,'loss',1.0);
INSERT INTO metric VALUES(2,1,1,'loss',0.5);
INSERT INTO metric VALUES(3,1,2,'loss',0.33333333333333331482);
CREATE TABLE result (
	id INTEGER NOT NULL, 
	run_id INTEGER NOT NULL, 
	job_id INTEGER, 
	task VARCHAR NOT NULL, 
	seed INTEGER NOT NULL, 
	metric VARCHAR NOT NULL, 
	value FLOAT NOT NULL, 
	chance FLOAT, 
	n_examples INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (run_id, task, seed, metric), 
	FOREIGN KEY(run_id) REFERENCES run (id), 
	FOREIGN KEY(job_id) REFERENCES job (id)
);
INSERT INTO result VALUES(1,1,1,'diff/mean',0,'accuracy',0.69999999999999995559,0.5,0,'2026-12-04 23:04:56.866559');
INSERT INTO result VALUES(2,2,1,'diff/mean',0,'accuracy',0.5500000000000000444,0.5,0,'2026-12-04 23:04:56.866644');
INSERT INTO result VALUES(3,1,1,'diff/mean',1,'accuracy',0.70999999999999996447,0.5,0,'2026-12-04 23:04:56.866727');
INSERT INTO result VALUES(4,2,1,'diff/mean',1,'accuracy',0.5500000000000000444,0.5,0,'2026-12-04 23:04:56.866800');
CREATE INDEX ix_experiment_name ON experiment (name);
CREATE UNIQUE INDEX ix_experiment_spec_hash ON experiment (spec_hash);
CREATE UNIQUE INDEX ix_dataset_config_hash ON dataset (config_hash);
CREATE INDEX ix_dataset_name ON dataset (name);
CREATE INDEX ix_job_status ON job (status);
CREATE UNIQUE INDEX ix_job_key ON job ("key");
CREATE INDEX ix_job_kind ON job (kind);
CREATE UNIQUE INDEX ix_llm_key ON llm ("key");
CREATE INDEX ix_llm_name ON llm (name);
CREATE INDEX ix_experiment_job_job_id ON experiment_job (job_id);
CREATE UNIQUE INDEX ix_pool_key ON pool ("key");
CREATE INDEX ix_artifact_kind ON artifact (kind);
CREATE INDEX ix_artifact_sha256 ON artifact (sha256);
CREATE INDEX ix_comparison_pool_id ON comparison (pool_id);
CREATE INDEX ix_comparison_accepted ON comparison (accepted);
CREATE INDEX ix_run_arm ON run (arm);
CREATE INDEX ix_run_job_id ON run (job_id);
CREATE INDEX ix_run_n ON run (n);
CREATE INDEX ix_metric_run_name_step ON metric (run_id, name, step);
CREATE INDEX ix_result_run_id ON result (run_id);
CREATE INDEX ix_result_task ON result (task);
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
LEFT JOIN experiment e ON e.id = ej.experiment_id;
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
GROUP BY experiment_id, run_id, task, metric;
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
GROUP BY experiment_id, llm, n, variant, task, metric;
COMMIT;
PRAGMA application_id = 1346587728;
PRAGMA user_version = 1;
