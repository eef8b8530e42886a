"""The store's tables: typed and flat, so that plain SQL on the file stays simple.

Every table is documented in docs/schema.md; a change here needs a migration in
`pcclip.store.migrations` and a line in that document.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Experiment(SQLModel, table=True):
    """One invocation of an ablation spec (re-running the same spec reuses the row)."""

    __tablename__ = "experiment"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    spec_text: str
    spec_hash: str = Field(index=True, unique=True)
    created_at: datetime = Field(default_factory=utcnow)


class Dataset(SQLModel, table=True):
    """A registered dataset (the testbed, or a real one read from a user-given root)."""

    __tablename__ = "dataset"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    kind: str  # adapter name: testbed, imagefolder, cifar100, ...
    root: str  # where its files are
    config_json: str = "{}"
    config_hash: str = Field(index=True, unique=True)
    n_items: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class Job(SQLModel, table=True):
    """A unit of work keyed by a hash of its inputs; a finished key is never recomputed."""

    __tablename__ = "job"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, unique=True)
    kind: str = Field(index=True)  # generate, embed, pretrain, finetune, eval, ...
    label: str = ""  # short human-readable description
    params_json: str = "{}"
    deps_json: str = "[]"  # keys of the jobs this one needs
    status: str = Field(default="pending", index=True)  # pending|running|done|failed|cancelled
    pid: int | None = None
    host: str | None = None
    heartbeat_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    progress: float = 0.0  # 0..1
    message: str = ""  # last progress line
    error: str | None = None
    log_path: str | None = None
    attempt: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class ExperimentJob(SQLModel, table=True):
    """Which jobs an experiment needs (a job can serve several experiments)."""

    __tablename__ = "experiment_job"
    experiment_id: int = Field(foreign_key="experiment.id", primary_key=True)
    job_id: int = Field(foreign_key="job.id", primary_key=True, index=True)


class Llm(SQLModel, table=True):
    """A comparison generator: backend, model and sampling settings."""

    __tablename__ = "llm"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)  # the arm name users see (e.g. smollm2-135m)
    backend: str  # llama_cpp | openai | t5 | template
    model_id: str  # path, hub repo/file, API model name
    file_sha256: str | None = None
    params_json: str = "{}"  # sampling parameters
    key: str = Field(index=True, unique=True)
    created_at: datetime = Field(default_factory=utcnow)


class Pool(SQLModel, table=True):
    """A comparison pool: one dataset's pairs written by one LLM with one prompt."""

    __tablename__ = "pool"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, unique=True)
    dataset_id: int | None = Field(default=None, foreign_key="dataset.id")
    llm_id: int = Field(foreign_key="llm.id")
    split: str = "pool"
    prompt_id: str
    seed: int = 0
    n_target: int = 0  # how many pairs it was asked to cover
    created_at: datetime = Field(default_factory=utcnow)


class Comparison(SQLModel, table=True):
    """One LLM-written comparison of pair (item_i, item_j), describing i relative to j."""

    __tablename__ = "comparison"
    __table_args__ = (UniqueConstraint("pool_id", "idx"),)
    id: int | None = Field(default=None, primary_key=True)
    pool_id: int = Field(foreign_key="pool.id", index=True)
    idx: int  # position in the pool's fixed pair order
    item_i: int
    item_j: int
    caption_i: str = ""
    caption_j: str = ""
    prompt_id: str = ""
    raw_text: str = ""
    text: str = ""  # filtered text (empty when rejected)
    accepted: bool = Field(default=False, index=True)
    reject_reason: str | None = None
    tokens: int = 0
    seconds: float = 0.0
    created_at: datetime = Field(default_factory=utcnow)


class ComparisonGrade(SQLModel, table=True):
    """The attribute grader's verdict on one comparison (only for data with attribute records)."""

    __tablename__ = "comparison_grade"
    comparison_id: int = Field(foreign_key="comparison.id", primary_key=True)
    grader: str = "v1"
    n_claims: int = 0
    n_correct: int = 0
    n_reversed: int = 0  # true of the second image, said of the first (or vice versa)
    n_wrong: int = 0  # contradicted by the records, not merely reversed
    n_hallucinated: int = 0  # mentions something absent from both images
    n_true_diffs: int = 0  # attributes on which the two images really differ
    n_covered: int = 0  # of those, how many a correct claim mentions
    fully_correct: bool = False
    detail_json: str = "[]"


class Run(SQLModel, table=True):
    """A model to evaluate: the base model (n = 0) or a PC-CLIP finetune of it."""

    __tablename__ = "run"
    id: int | None = Field(default=None, primary_key=True)
    job_id: int | None = Field(default=None, foreign_key="job.id", index=True)
    arm: str = Field(index=True)  # LLM arm name, or "base"
    llm_id: int | None = Field(default=None, foreign_key="llm.id")
    pool_id: int | None = Field(default=None, foreign_key="pool.id")
    n: int = Field(default=0, index=True)  # comparisons used; 0 = no finetuning
    seed: int = 0
    variant: str = ""  # finetune setting label (lr, rehearsal, averaging...)
    base_model: str = ""
    config_json: str = "{}"
    checkpoint_artifact_id: int | None = Field(default=None, foreign_key="artifact.id")
    created_at: datetime = Field(default_factory=utcnow)


class Metric(SQLModel, table=True):
    """A per-step training measurement (loss, learning rate...)."""

    __tablename__ = "metric"
    __table_args__ = (Index("ix_metric_run_name_step", "run_id", "name", "step"),)
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="run.id")
    step: int
    name: str
    value: float


class Result(SQLModel, table=True):
    """One evaluation number: a run on a task, for one seed of pair sampling."""

    __tablename__ = "result"
    __table_args__ = (UniqueConstraint("run_id", "task", "seed", "metric"),)
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="run.id", index=True)
    job_id: int | None = Field(default=None, foreign_key="job.id", index=True)  # v2: per-experiment queries
    task: str = Field(index=True)  # e.g. diff/size, zeroshot/testbed
    seed: int = 0
    metric: str  # accuracy, distance_forward, ...
    value: float
    chance: float | None = None
    n_examples: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class Artifact(SQLModel, table=True):
    """A file pcclip made (checkpoint, embedding cache, images), addressed by its sha256."""

    __tablename__ = "artifact"
    id: int | None = Field(default=None, primary_key=True)
    path: str
    sha256: str = Field(index=True)
    bytes: int = 0
    kind: str = Field(index=True)  # checkpoint | embeddings | images | base_model | log
    job_id: int | None = Field(default=None, foreign_key="job.id")
    created_at: datetime = Field(default_factory=utcnow)
