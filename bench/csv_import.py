"""Benchmark: CSV import preview and commit of 1k/10k/100k characters on SQLite and PostgreSQL.

Run: python bench/csv_import.py [--sizes 1000,10000,100000] [--backends sqlite,postgres]

Each backend runs in a child process with its own scratch database (bench/.scratch/csv_import.sqlite3, and
a PostgreSQL database ``dali_bench_csv`` created and dropped here when PostgreSQL is reachable). The same
generated files are imported by django-import-export (bulk mode, a bench-only dependency) as the baseline.
Peak memory is measured with tracemalloc in a separate pass (it slows the code it watches).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

from _setup import budget_line, exit_code  # first: keeps bench/queue.py from shadowing the stdlib's queue

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "bench" / ".scratch"
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PG_DATABASE = "dali_bench_csv"
BASELINE_MAX_ROWS = 10_000  # django-import-export takes minutes on 100k rows; its rate is flat by then

PREVIEW_10K_LIMIT_S = 1.0
COMMIT_10K_LIMIT_S = 2.0
SPEEDUP_LIMIT = 10.0
ROW_BYTES_LIMIT = 64  # peak-memory growth per extra row, 10k -> 100k (a parsed row is ~2 KB)


def generate(path: Path, rows: int, seed: int = 7) -> None:
    sys.path.insert(0, str(ROOT))
    from studio.characters import vocabulary as v  # no Django needed

    rng = random.Random(seed)
    single = [a for a in v.ATTRIBUTES if not a.multiple]
    headers = [
        "name",
        *(a.name for a in single),
        "accessories",
        "dominant_colors",
        "distinguishing_features",
        "notes",
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        for index in range(rows):
            record = [f"Character {index:06d}"]
            record += [rng.choice(a.choices).key for a in single]
            record.append(
                ";".join(sorted({rng.choice(v.ACCESSORIES.choices).key for _ in range(rng.randint(0, 3))}))
            )
            record.append(rng.choice(v.DOMINANT_COLORS.choices).key)
            record.append(rng.choice(["", "a scar over the left eye", "freckles", "a silver tooth"]))
            record.append(rng.choice(["", "main cast", "villain, act 2"]))
            writer.writerow(record)


# --- child: one backend -------------------------------------------------------------------------------------


def run_backend(backend: str, sizes: list[int]) -> dict:
    os.environ["DJANGO_SETTINGS_MODULE"] = "site_config.settings"
    os.environ.setdefault("DEBUG", "1")
    if backend == "sqlite":
        db_file = SCRATCH / "csv_import.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_file}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{db_file}"
    else:
        os.environ["DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_DATABASE}"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    # 100k rows with every column is ~23 MB, over the 20 MB upload default.
    settings.CHARACTER_IMPORT_MAX_BYTES = 64 * 1024 * 1024
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from import_export import resources

    from studio.characters.models import Character
    from studio.imports import commit as import_commit
    from studio.imports import mapping as import_mapping
    from studio.imports import rows as import_rows

    call_command("migrate", verbosity=0)
    users = iter(get_user_model().objects.create(email=f"bench{i}@example.com") for i in range(1000))

    class CharacterResource(resources.ModelResource):
        def __init__(self, owner) -> None:
            super().__init__()
            self.owner = owner

        def before_import_row(self, row, **kwargs) -> None:
            row["owner"] = self.owner.pk
            # Its JSONWidget wants JSON; our files hold "a;b" lists.
            for name in ("accessories", "dominant_colors"):
                row[name] = json.dumps([part for part in (row.get(name) or "").split(";") if part])

        class Meta:
            model = Character
            import_id_fields = ("owner", "name")
            fields = ("owner", "name", *import_mapping.CHARACTER_FIELDS[1:])
            use_bulk = True
            batch_size = 1000
            skip_diff = True

    results: dict = {"backend": backend, "sizes": {}}
    for size in sizes:
        path = SCRATCH / f"characters_{size}.csv"
        figures: dict = {}
        owner = next(users)
        with path.open("rb") as handle:
            started = time.perf_counter()
            shown = import_rows.preview(handle, owner)
            figures["preview_s"] = time.perf_counter() - started
            assert shown.counts["new"] == size, shown.counts
            started = time.perf_counter()
            report = import_commit.commit(handle, owner)
            figures["commit_s"] = time.perf_counter() - started
            assert report.created == size, report
            started = time.perf_counter()
            report = import_commit.commit(handle, owner)
            figures["recommit_unchanged_s"] = time.perf_counter() - started
            assert report.unchanged == size, report
        changed = SCRATCH / f"characters_{size}_changed.csv"
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines(keepends=True)
        header = next(csv.reader([lines[0]]))
        hair = header.index("hair_color")
        rows = list(csv.reader(lines[1:]))
        for row in rows:
            row[hair] = "white" if row[hair] != "white" else "black"
        with changed.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(header)
            writer.writerows(rows)
        del rows, lines, text
        with changed.open("rb") as handle:
            started = time.perf_counter()
            report = import_commit.commit(handle, owner)
            figures["commit_updates_s"] = time.perf_counter() - started
            assert report.updated == size, report

        # Peak memory, on a fresh owner, reading from the file (as the task does).
        memory_owner = next(users)
        with path.open("rb") as handle:
            tracemalloc.start()
            import_rows.preview(handle, memory_owner)
            figures["preview_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.reset_peak()
            import_commit.commit(handle, memory_owner)
            figures["commit_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()

        if size <= BASELINE_MAX_ROWS:
            import tablib

            baseline_owner = next(users)
            dataset = tablib.Dataset().load(path.read_text(encoding="utf-8"), format="csv")
            dataset.append_col([baseline_owner.pk] * len(dataset), header="owner")
            resource = CharacterResource(baseline_owner)
            started = time.perf_counter()
            result = resource.import_data(dataset, dry_run=False, use_transactions=True, raise_errors=True)
            figures["baseline_commit_s"] = time.perf_counter() - started
            assert not result.has_errors()
            assert Character.objects.filter(owner=baseline_owner).count() == size
        results["sizes"][str(size)] = figures
        Character.objects.all().delete()
    return results


# --- parent ---------------------------------------------------------------------------------------------


def _postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE}")
            connection.execute(f"CREATE DATABASE {PG_DATABASE}")
        return True
    except Exception as error:
        print(f"PostgreSQL not reachable ({error}); skipping it.")
        return False


def _drop_postgres() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    if args.child:
        print(json.dumps(run_backend(args.child, sizes)))
        return

    SCRATCH.mkdir(parents=True, exist_ok=True)
    for size in sizes:
        path = SCRATCH / f"characters_{size}.csv"
        if not path.exists():
            generate(path, size)
        print(f"file: {size:,} rows, {path.stat().st_size / 1e6:.1f} MB")
    backends = args.backends.split(",")
    if "postgres" in backends and not _postgres_available():
        backends.remove("postgres")
    lines: list[str] = []
    try:
        for backend in backends:
            child = subprocess.run(
                [sys.executable, __file__, "--child", backend, "--sizes", args.sizes],
                capture_output=True,
                text=True,
                check=False,
                cwd=ROOT,
            )
            if child.returncode:
                print(child.stdout[-3000:], child.stderr[-5000:])
                raise SystemExit(f"{backend} run failed")
            results = json.loads(child.stdout.strip().splitlines()[-1])
            print(f"\n== {backend} ==")
            print(
                f"{'rows':>8} {'preview s':>10} {'rows/s':>10} {'commit s':>9} {'rows/s':>10} "
                f"{'re-import s':>11} {'updates s':>9} {'prev MB':>8} {'commit MB':>9} "
                f"{'baseline s':>10} {'rows/s':>8}"
            )
            for size_text, f in results["sizes"].items():
                size = int(size_text)
                baseline = f.get("baseline_commit_s")
                print(
                    f"{size:>8,} {f['preview_s']:>10.3f} {size / f['preview_s']:>10,.0f} "
                    f"{f['commit_s']:>9.3f} {size / f['commit_s']:>10,.0f} "
                    f"{f['recommit_unchanged_s']:>11.3f} {f['commit_updates_s']:>9.3f} "
                    f"{f['preview_peak_mb']:>8.1f} {f['commit_peak_mb']:>9.1f} "
                    + (
                        f"{baseline:>10.3f} {size / baseline:>8,.0f}"
                        if baseline
                        else f"{'(skipped)':>10} {'':>8}"
                    )
                )
            by_size = results["sizes"]
            if "10000" in by_size:
                ten = by_size["10000"]
                lines.append(
                    budget_line(f"csv preview 10k ({backend})", ten["preview_s"], "s", PREVIEW_10K_LIMIT_S)
                )
                lines.append(
                    budget_line(f"csv commit 10k ({backend})", ten["commit_s"], "s", COMMIT_10K_LIMIT_S)
                )
                if "baseline_commit_s" in ten:
                    speedup = ten["baseline_commit_s"] / ten["commit_s"]
                    lines.append(
                        budget_line(
                            f"csv speed vs django-import-export ({backend})",
                            speedup,
                            "x",
                            SPEEDUP_LIMIT,
                            at_least=True,
                        )
                    )
            if "10000" in by_size and "100000" in by_size:
                # Rows are streamed, so the peak grows only by the duplicate-name index (~12-24 B a row),
                # against ~230 B of file and ~2 KB of parsed row per line.
                for phase in ("preview", "commit"):
                    extra = by_size["100000"][f"{phase}_peak_mb"] - by_size["10000"][f"{phase}_peak_mb"]
                    per_row = max(extra, 0) * 1e6 / 90_000
                    lines.append(
                        budget_line(
                            f"csv {phase} memory per extra row 10k->100k ({backend})",
                            per_row,
                            "B",
                            ROW_BYTES_LIMIT,
                        )
                    )
    finally:
        if "postgres" in backends:
            _drop_postgres()
    print(f"\ndjango-import-export baseline: bulk mode, files up to {BASELINE_MAX_ROWS:,} rows.")
    print()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
    sys.exit(exit_code())
