"""A comparison pool written by hand into a real store: for tests of what reads pools (grading, N selection)."""

from __future__ import annotations

from pcclip.store.tables import Comparison, Llm, Pool


def hand_pool(store, dataset_id: int | None, texts: list[tuple[str, bool]], name: str = "hand") -> int:  # noqa: ANN001
    """A pool of given texts over items (0,1), (2,3), ...: (text, accepted); pair k has idx k. Returns its id."""
    with store.session() as s:
        llm = Llm(name=name, backend="template", model_id=name, key=f"llm-{name}")
        s.add(llm)
        s.flush()
        pool = Pool(key=f"pool-{name}", dataset_id=dataset_id, llm_id=llm.id, prompt_id="paper-v1")
        s.add(pool)
        s.flush()
        for k, (text, accepted) in enumerate(texts):
            s.add(Comparison(pool_id=pool.id, idx=k, item_i=2 * k, item_j=2 * k + 1, raw_text=text,
                             text=text if accepted else "", accepted=accepted,
                             reject_reason=None if accepted else "too-short"))
        return pool.id
