"""How much the unreadable-image screen costs at dataset open, against decoding every image (what a plain
loader pays anyway), measured in the same run on the same files.

    .venv/bin/python benchmarks/bench_dataset_screen.py [N_IMAGES] [SIDE]

Prints seconds per 1,000 images for: the `fast` screen (header + end marker), the `full` screen (decode all),
a plain PIL decode loop (baseline), and the ratio baseline / fast."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from pcclip.data.images import screen_files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n_images", nargs="?", type=int, default=400)
    ap.add_argument("side", nargs="?", type=int, default=384, help="image side in pixels")
    a = ap.parse_args()
    n, side = a.n_images, a.side
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        paths = []
        for i in range(n):
            # smooth gradients plus noise: realistic JPEG sizes (tens of KB), not pure noise
            base = np.linspace(0, 255, side, dtype=np.float32)
            img = np.stack(
                [
                    np.add.outer(base, base) / 2,
                    np.add.outer(base, -base) / 2 + 128,
                    np.full((side, side), i % 255, np.float32),
                ],
                -1,
            )
            img += rng.normal(0, 12, img.shape)
            p = Path(tmp) / f"{i:05d}.jpg"
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(p, quality=90)
            paths.append(p)
        p = paths[n // 2]
        p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])  # one truncated file

        def timed(fn) -> tuple[float, object]:  # noqa: ANN001
            t = time.perf_counter()
            out = fn()
            return time.perf_counter() - t, out

        t_fast, bad_fast = timed(lambda: screen_files(paths, "fast"))
        t_full, bad_full = timed(lambda: screen_files(paths, "full"))

        def plain() -> int:
            ok = 0
            for q in paths:
                try:
                    with Image.open(q) as im:
                        im.convert("RGB")
                    ok += 1
                except OSError:
                    pass
            return ok

        t_plain, _ = timed(plain)
    per = 1000 / n
    print(f"{n} JPEGs of {side}x{side}; one truncated (fast found {len(bad_fast)}, full found {len(bad_full)})")
    print(f"fast screen : {t_fast * per:7.3f} s / 1000 images")
    print(f"full screen : {t_full * per:7.3f} s / 1000 images")
    print(f"plain decode: {t_plain * per:7.3f} s / 1000 images (baseline)")
    print(f"ratio plain decode / fast screen: {t_plain / t_fast:.1f}x")


if __name__ == "__main__":
    main()
