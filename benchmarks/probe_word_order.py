"""Word order vs binding: each testbed difference task split by sentence form, for the base model and checkpoints.

Every task alternates two mirror forms (docs/testbed.md): form 0 names the first image first, form 1 the second.
A model that reads "the first-named property belongs to the first image" scores high on form 0 and low on form 1;
one that binds properties to "first"/"second" scores high on both. Also printed, once: the upper bound the image
embeddings allow for colour and size, using the difference of two caption embeddings as the text vector.

    PCCLIP_CACHE=... .venv/bin/python benchmarks/probe_word_order.py --base path/to/open_clip_model.pt \
        [name=path/to/finetuned/checkpoint.pt ...]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="the testbed base model checkpoint (its image tower is used)")
    ap.add_argument("checkpoints", nargs="*", help="name=path of finetuned checkpoints (text towers) to probe")
    ap.add_argument("--pairs", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()

    import numpy as np
    import torch

    from pcclip.data import testbed_tasks as tt
    from pcclip.data.testbed import build_testbed, testbed_config
    from pcclip.evaluation.common import encode_texts, normalize
    from pcclip.evaluation.difference import difference_correct
    from pcclip.models import ModelRef, load_model
    from pcclip.pretrain import embed_split

    torch.set_num_threads(a.threads)
    tb = build_testbed(testbed_config(seed=0))
    base = ModelRef.testbed(a.base)
    refs = {"base": base} | {c.split("=", 1)[0]: base.with_checkpoint(c.split("=", 1)[1]) for c in a.checkpoints}
    clip0, _, tok0 = load_model(base)
    img = embed_split(clip0, tb, "test")
    recs = tb.records("test")
    tasks = tt.build_diff_tasks(tb, seed=a.seed, n_pairs=a.pairs)

    print("| model | " + " | ".join(f"{t.name} first-first | {t.name} second-first" for t in tasks) + " |")
    print("| --- |" + " --- | --- |" * len(tasks))
    for name, ref in refs.items():
        clip, _, tok = load_model(ref)
        cells = []
        for t in tasks:
            ok = difference_correct(img, t.pairs, encode_texts(clip, tok, [p.sentence for p in t.pairs], device="cpu"))
            cells += [f"{100 * ok[0::2].mean():.1f}", f"{100 * ok[1::2].mean():.1f}"]  # pair i uses form i % 2
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)

    def enc(texts: list[str]) -> np.ndarray:
        return normalize(encode_texts(clip0, tok0, texts, device="cpu"))

    for t in tasks:
        if t.name not in ("color", "size"):
            continue
        attr = "color" if t.name == "color" else "size"
        a_txt = enc([f"a photo of a {getattr(recs[p.a], attr)} shape" for p in t.pairs])
        b_txt = enc([f"a photo of a {getattr(recs[p.b], attr)} shape" for p in t.pairs])
        d = normalize(normalize(img[[p.a for p in t.pairs]]) - normalize(img[[p.b for p in t.pairs]]))
        acc = float(((d * normalize(a_txt - b_txt)).sum(axis=1) > 0).mean())
        print(f"upper bound, {t.name}: caption-difference text vector classifies {100 * acc:.1f}% of pairs")


if __name__ == "__main__":
    main()
