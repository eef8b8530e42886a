"""Image-embedding throughput: pcclip.embed (cache miss, then hit) vs a plain open_clip loop, same images, same run.

The plain loop is what one would write by hand: for each batch, load the images, apply open_clip's preprocess,
stack, `encode_image` under no_grad. Ours adds decoding in a worker thread and the cache. Each miss uses a fresh
database so nothing is reused; the two paths alternate and the best of `--repeats` is kept for each.

    .venv/bin/python benchmarks/bench_embed.py --images 512 --repeats 2
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=512, help="test-split size of the benchmark testbed")
    ap.add_argument("--arch", default="pcclip-testbed-vit", help="open_clip architecture (random weights)")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pil", action="store_true", help="hide the testbed's arrays: every image goes through PIL")
    a = ap.parse_args()

    import numpy as np
    import torch

    from pcclip.data.testbed import build_testbed, testbed_config
    from pcclip.embed import image_embeddings
    from pcclip.models import ModelRef, load_model, register_model_configs
    from pcclip.store import open_store

    torch.set_num_threads(a.threads)
    register_model_configs()
    tmp = Path(tempfile.mkdtemp(prefix="bench-embed-"))
    ds = build_testbed(testbed_config(seed=123, n_train=1, n_pool=1, n_test=a.images))
    if a.pil:
        class FileLike:  # a dataset without images_array, like the on-disk adapters
            def __init__(self, inner):  # noqa: ANN001
                self._inner = inner

            def __getattr__(self, name):  # noqa: ANN001
                if name == "images_array":
                    raise AttributeError(name)
                return getattr(self._inner, name)

        ds = FileLike(ds)
    import open_clip

    torch.manual_seed(0)
    model = open_clip.create_model(a.arch, pretrained=None)
    ckpt = tmp / "model.pt"
    torch.save({"arch": a.arch, "state_dict": model.state_dict()}, ckpt)
    ref = ModelRef(name=a.arch, checkpoint=str(ckpt))
    n = len(ds.items("test"))

    def plain() -> tuple[float, np.ndarray]:
        t0 = time.perf_counter()
        m, pre, _ = load_model(ref)
        out = []
        with torch.no_grad():
            for k in range(0, n, a.batch):
                x = torch.stack([pre(ds.load_image("test", i)) for i in range(k, min(n, k + a.batch))])
                out.append(m.encode_image(x).numpy())
        return time.perf_counter() - t0, np.concatenate(out)

    def ours(db: Path) -> tuple[float, np.ndarray]:
        store = open_store(db)
        t0 = time.perf_counter()
        arr = image_embeddings(store, ref, ds, "test", batch_size=a.batch)
        dt = time.perf_counter() - t0
        store.close()
        return dt, arr

    t_plain, t_miss = [], []
    for r in range(a.repeats):
        dt, ref_arr = plain()
        t_plain.append(dt)
        dt, arr = ours(tmp / f"miss{r}.db")
        t_miss.append(dt)
        assert np.allclose(np.asarray(arr), ref_arr, atol=1e-4), "pcclip.embed disagrees with the plain loop"
    t_hit = min(ours(tmp / f"miss{r}.db")[0] for _ in range(3))
    p, m = min(t_plain), min(t_miss)
    print(f"images: {n} ({a.arch}, batch {a.batch}, {a.threads} threads)")
    print(f"plain open_clip loop : {p:8.3f} s  {n / p:8.1f} img/s")
    print(f"pcclip.embed (miss)  : {m:8.3f} s  {n / m:8.1f} img/s   ratio vs plain {p / m:.2f}x (target >= 1)")
    print(f"pcclip.embed (hit)   : {t_hit:8.4f} s  ratio vs plain {p / t_hit:.0f}x (target >= 50)")


if __name__ == "__main__":
    main()
