"""Benchmark: the import panel's server time (upload + preview partial, remap, synchronous commit).

Run: python bench/import_views.py [--rows 2000] [--large 10000]

Goes through the test client with HX-Request, so template rendering and the draft storage are included.
``--rows`` is the synchronous-commit size (the background threshold by default); ``--large`` is a file that
is previewed (and would be committed in the background).
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import budget, django_with_scratch_db, exit_code, median

PREVIEW_LIMIT_S = 1.0  # upload + preview partial of the large file, as the workflow's own budget
COMMIT_LIMIT_S = 1.0  # synchronous commit at the background threshold


def make_csv(rows: int, seed: int = 3) -> bytes:
    from studio.characters import vocabulary as v

    rng = random.Random(seed)
    single = [a for a in v.ATTRIBUTES if not a.multiple]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["name", *(a.label for a in single), "mystery"])
    for index in range(rows):
        record = [f"Character {index:06d}", *(rng.choice(a.choices).label for a in single), "x"]
        if index % 50 == 7:
            record[2] = "plaid"  # some invalid rows, as a real file has
        writer.writerow(record)
    return buffer.getvalue().encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    django_with_scratch_db("import_views", args.database_url)

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from django.urls import reverse

    from studio.characters.models import Character
    from studio.imports.models import CharacterImport
    from studio.tests.factories import UserFactory

    headers = {"HTTP_HX_REQUEST": "true"}
    results: dict[str, float] = {}
    for label, rows in (("sync", args.rows), ("large", args.large)):
        data = make_csv(rows)
        previews, remaps = [], []
        for attempt in range(3):
            user = UserFactory(email=f"{label}{attempt}@example.com")
            client = Client()
            client.force_login(user)
            started = time.perf_counter()
            response = client.post(
                reverse("studio:import_upload"), {"file": SimpleUploadedFile("f.csv", data)}, **headers
            )
            previews.append(time.perf_counter() - started)
            assert response.status_code == 200 and b"import-preview-table" in response.content
            job = CharacterImport.objects.filter(owner=user).latest("created_at")
            started = time.perf_counter()
            client.post(reverse("studio:import_remap", args=[job.pk]), {"map-2": ""}, **headers)
            remaps.append(time.perf_counter() - started)
            if label == "sync":
                started = time.perf_counter()
                response = client.post(reverse("studio:import_commit", args=[job.pk]), {}, **headers)
                results[f"commit{attempt}"] = time.perf_counter() - started
                assert b"created" in response.content, response.content[:500]
                assert Character.objects.filter(owner=user).count() > rows * 0.9
        results[f"{label}_preview"] = median(previews)
        results[f"{label}_remap"] = median(remaps)
        print(
            f"{rows:>7,} rows: upload+preview p50 {median(previews) * 1000:.0f} ms, "
            f"remap p50 {median(remaps) * 1000:.0f} ms"
        )
    commit = median([results[f"commit{i}"] for i in range(3)])
    print(f"{args.rows:>7,} rows: synchronous commit p50 {commit * 1000:.0f} ms")
    budget(f"import panel preview, {args.large} rows", results["large_preview"], "s", PREVIEW_LIMIT_S)
    budget(f"import panel commit, {args.rows} rows", commit, "s", COMMIT_LIMIT_S)


if __name__ == "__main__":
    main()
    sys.exit(exit_code())
