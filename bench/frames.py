"""Depth-frame ingest and retrieval. Budgets: ingest 5461 x 201 <= 0.5 s; 500-row colormapped range <= 20 ms.

python bench/frames.py [--postgres [URL]] [--runs 50]

Generates a synthetic 5,461-row pixel CSV (depth + col1..col200), then on a scratch SQLite database (and on a
scratch PostgreSQL database `dali_bench_frames` when --postgres or a postgres DATABASE_URL is given, dropped
at the end) measures: the ingest workflow (parse, validate, resample to 150, one bulk write; p50 of
re-uploads that replace the dataset) and one upload through the API, then p50 over --runs requests for
ranges of 50, 500 and all 5,461 rows through the `.png` endpoint and the JSON images endpoint (one base64
PNG per frame plus the stacked one), each with a colormap, through Django's test client (session, SQL,
colormap, PNG encoding).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from _setup import budget, django_with_scratch_db, median

ROWS, COLUMNS = 5461, 200
SCRATCH_DB = "dali_bench_frames"


def synthetic_csv(rows: int = ROWS, columns: int = COLUMNS) -> bytes:
    """Layered 'rock' with noise: depths 9000.0, 9000.1, ...; integer intensities 0-255."""
    import numpy as np

    rng = np.random.default_rng(6)
    depth = 9000 + np.arange(rows) * 0.1
    layers = 128 + 90 * np.sin(depth[:, None] / 3.0 + np.linspace(0, 2, columns)[None, :])
    pixels = np.clip(layers + rng.normal(0, 20, (rows, columns)), 0, 255).astype(int)
    lines = ["depth," + ",".join(f"col{i}" for i in range(1, columns + 1))]
    lines += [f"{d:.1f}," + ",".join(map(str, row)) for d, row in zip(depth, pixels.tolist(), strict=True)]
    return ("\n".join(lines) + "\n").encode()


def run_backend(label: str, database_url: str | None, runs: int) -> bool:
    os.environ["FRAMES_MAX_RANGE_ROWS"] = str(ROWS)  # the "all rows" case must be allowed
    django_with_scratch_db(f"frames-{label}", database_url)

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from django.urls import reverse

    from studio.frames import ingest
    from studio.frames import render as rendering
    from studio.tests.factories import UserFactory

    data = synthetic_csv()
    print(f"[{label}] synthetic CSV: {ROWS} rows x {COLUMNS + 1} columns, {len(data) / 1e6:.1f} MB")
    user = UserFactory()

    timings = []
    for _ in range(7):
        started = time.perf_counter()
        result = ingest.ingest_csv(user, "bench", data)
        timings.append(time.perf_counter() - started)
    dataset = result.dataset
    assert (dataset.row_count, dataset.width) == (ROWS, 150)
    print(
        f"[{label}] ingest workflow: first {timings[0]:.3f} s, p50 {median(timings):.3f} s, "
        f"max {max(timings):.3f} s"
    )

    client = Client()
    client.force_login(user)
    started = time.perf_counter()
    response = client.post(
        reverse("api:frames_upload_csv"),
        {"dataset": "bench-api", "file": SimpleUploadedFile("bench.csv", data, content_type="text/csv")},
    )
    api_upload = time.perf_counter() - started
    assert response.status_code == 201, response.content
    print(f"[{label}] upload through the API (multipart encode + decode included): {api_upload:.3f} s")

    depths = rendering.load_frames(dataset).depths
    results = {}
    for endpoint in ("frames_image_png", "frames_images"):
        url = reverse(f"api:{endpoint}", args=["bench"])
        for size in (50, 500, ROWS):
            samples = []
            for run in range(-5, runs):  # five warm-up requests, not counted
                first = (abs(run) * 97) % (ROWS - size + 1)
                params = {
                    "depth_min": repr(float(depths[first])),
                    "depth_max": repr(float(depths[first + size - 1])),
                    "colormap": ("viridis", "magma", "gray_r", "turbo")[run % 4],
                }
                started = time.perf_counter()
                response = client.get(url, params)
                if run >= 0:
                    samples.append(time.perf_counter() - started)
                assert response.status_code == 200, response.content
            results[endpoint, size] = median(samples) * 1000
            print(
                f"[{label}] {endpoint} {size:>5} rows: p50 {results[endpoint, size]:.2f} ms, "
                f"{len(response.content) / 1024:.0f} KB"
            )

    ok = budget(f"frames ingest {ROWS}x{COLUMNS + 1} ({label})", median(timings), "s", 0.5)
    ok &= budget(
        f"frames 500-row colormapped range, png ({label})", results["frames_image_png", 500], "ms", 20
    )
    ok &= budget(f"frames 500-row colormapped range, json ({label})", results["frames_images", 500], "ms", 20)
    return ok


def postgres_url(args: argparse.Namespace) -> str | None:
    if args.postgres:
        return args.postgres
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


def with_database(url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--postgres", nargs="?", const="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.backend:  # a child run: one backend per process, since Django is set up once
        sys.exit(0 if run_backend(args.backend, args.database_url, args.runs) else 1)

    script = str(Path(__file__).resolve())
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    codes = [
        subprocess.call([sys.executable, script, "--backend", "sqlite", "--runs", str(args.runs)], env=env)
    ]
    url = postgres_url(args)
    if url:
        import psycopg

        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}"')
            connection.execute(f'CREATE DATABASE "{SCRATCH_DB}"')
        try:
            codes.append(
                subprocess.call(
                    [
                        *(sys.executable, script, "--backend", "postgresql", "--runs", str(args.runs)),
                        *("--database-url", with_database(url, SCRATCH_DB)),
                    ],
                    env=env,
                )
            )
        finally:
            with psycopg.connect(url, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}" WITH (FORCE)')
    sys.exit(max(codes))


if __name__ == "__main__":
    main()
