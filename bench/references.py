"""Reference images: time and bytes a job adds by preparing its references.

Budget (issue 15): for 4 references made from 1024 px portraits, preparing a job's references (the worker's
load_references: read, check the content hash, hand over PNG bytes of <= 1024 px) takes <= 50 ms and adds
<= 1.5 MB to the request. Also printed, not budgeted: the one-off cost of adding a portrait or a 12 MP photo
to the reference set (decode, downscale, encode), and the bytes of a photo-like reference.

python bench/references.py [--runs 30]
"""

from __future__ import annotations

import argparse
import io
import time

from _setup import budget_line, django_with_scratch_db, exit_code, median, percentile

MB = 1024 * 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    django_with_scratch_db("references")

    import numpy as np
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from studio import painter
    from studio.portraits.models import Portrait
    from studio.portraits.references import (
        add_portrait_reference,
        add_upload_reference,
        chosen_references,
        load_references,
        reference_records,
    )
    from studio.tests.factories import CharacterFactory, UserFactory

    owner = UserFactory()
    character = CharacterFactory(owner=owner, name="Captain Isolde Marrow")
    values = {**character.attribute_values(), "name": character.name}
    add_ms = []
    for index in range(4):
        portrait = Portrait.objects.create(
            owner=owner, character=character, character_version=1, prompt="p", provider="local", seed=index
        )
        portrait.store_image(painter.render_png(values, index, 1024))
        started = time.perf_counter()
        add_portrait_reference(portrait, ("face", "outfit", "style", "pose")[index])
        add_ms.append((time.perf_counter() - started) * 1000)

    job = Portrait.objects.create(
        owner=owner,
        character=character,
        prompt="p",
        provider="openai",
        seed=9,
        references=reference_records(chosen_references(character, 4)),
    )
    timings, sent = [], 0
    for _ in range(args.runs):
        started = time.perf_counter()
        inputs, missing = load_references(job)
        timings.append((time.perf_counter() - started) * 1000)
        assert len(inputs) == 4 and not missing
        sent = sum(len(item.data) for item in inputs)
    sizes = [Image.open(io.BytesIO(item.data)).size for item in inputs]

    # A 12 MP photo-like upload: smooth noise with detail, which compresses far worse than a painter portrait.
    noise = np.random.default_rng(1).integers(0, 255, (750, 1000, 3), dtype=np.uint8)
    photo = Image.fromarray(noise).resize((4000, 3000), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=90)
    other = CharacterFactory(owner=owner, name="Photo")
    started = time.perf_counter()
    uploaded = add_upload_reference(other, SimpleUploadedFile("photo.jpg", buffer.getvalue(), "image/jpeg"))
    photo_ms = (time.perf_counter() - started) * 1000

    print(f"reference sizes sent: {sizes}; {len(timings)} runs")
    print(f"add a 1024 px portrait to the set: median {median(add_ms):.1f} ms (one-off, in the request)")
    print(
        f"add a 12 MP JPEG photo ({len(buffer.getvalue()) / MB:.1f} MB): {photo_ms:.0f} ms, stored as a ",
        end="",
    )
    print(f"{uploaded.width}x{uploaded.height} PNG of {uploaded.image.size / MB:.2f} MB")
    p50, p95 = median(timings), percentile(timings, 0.95)
    print(f"prepare 4 references per job: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    print(f"bytes added per job: {sent / MB:.2f} MB")
    print(budget_line("references prepared per job (4 x 1024 px), p95", p95, "ms", 50))
    print(budget_line("references bytes per job (4 x 1024 px)", sent / MB, "MB", 1.5))
    return exit_code()


if __name__ == "__main__":
    raise SystemExit(main())
