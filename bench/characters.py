"""The characters list with 20,000 characters: first page, scroll pages and the last page, per sort.

python bench/characters.py [--characters 20000] [--requests 40] [--postgres URL|auto|off]

A user with N characters (every vocabulary attribute filled, as an import makes them), a quarter of them
with 1-4 painted portraits (so covers and counts are real lookups). Timed through the test client (server
time: view, queries, template), interleaved rounds; query counts include the session and user look-ups
every logged-in request makes. SQLite always; PostgreSQL in a scratch database `dali_bench_characters`
(dropped at the end) when a server is reachable.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import subprocess
import sys
import time

# First: _setup takes bench/ off sys.path, so bench/queue.py cannot shadow the stdlib queue (psycopg uses it).
from _setup import (
    budget,
    create_scratch_postgres,
    django_with_scratch_db,
    drop_scratch_postgres,
    exit_code,
    median,
    percentile,
    plain_static_files,
)

PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/dali_bench_characters"
SORTS = ("updated", "name", "portraits")
# Every sort is an index range on (owner, column, id): "portraits" reads the stored Character.portrait_count
# (studio/portraits/counts.py), no longer a GROUP BY over every character's portraits.
TIMED_SORTS = SORTS


def seed(user, count: int) -> None:
    from django.db import transaction
    from django.db.models import F
    from django.utils import timezone

    from studio.characters import vocabulary
    from studio.characters.models import Character
    from studio.portraits.counts import refresh_portrait_counts
    from studio.portraits.models import Portrait
    from studio.portraits.seeding import shared_files

    rng = random.Random(16)
    files = shared_files(count=4)
    now = timezone.now()
    with transaction.atomic():
        characters = []
        for index in range(count):
            values = {}
            for attribute in vocabulary.ATTRIBUTES:
                keys = [choice.key for choice in attribute.choices]
                values[attribute.name] = rng.sample(keys, 2) if attribute.multiple else rng.choice(keys)
            stamp = now - dt.timedelta(minutes=index // 3)  # ties: the id breaks them
            characters.append(
                Character(owner=user, name=f"Imported hero {index:05}", created_at=stamp, **values)
            )
        Character.objects.bulk_create(characters, batch_size=2000)
        # bulk_create keeps auto_now's value for every row: spread updated_at as an import's edits would.
        Character.objects.filter(owner=user).update(updated_at=F("created_at"))
        ids = list(Character.objects.filter(owner=user).values_list("id", flat=True))
        portraits = []
        for pk in ids[::4]:
            for _ in range(rng.randint(1, 4)):
                file = files[rng.randrange(len(files))]
                stamp = now - dt.timedelta(minutes=rng.randrange(100_000))
                portraits.append(
                    Portrait(
                        owner=user,
                        character_id=pk,
                        character_version=1,
                        prompt="Portrait.",
                        provider="local",
                        seed=rng.randrange(2**31),
                        status=Portrait.Status.SUCCEEDED,
                        image=file.image,
                        thumbnail=file.thumbnail,
                        width=file.width,
                        height=file.height,
                        created_at=stamp,
                        queued_at=stamp,
                    )
                )
        Portrait.objects.bulk_create(portraits, batch_size=2000)
        # bulk_create skips Portrait.save: the stored counts the "portraits" sort reads, as an import does.
        refresh_portrait_counts(ids[::4])


def run(args: argparse.Namespace) -> None:
    url = django_with_scratch_db("characters", database_url=args.database_url)
    vendor = "PostgreSQL" if url.startswith("postgres") else "SQLite"

    from django.db import connection
    from django.db.models import Sum
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from studio.characters import listing
    from studio.characters.models import Character
    from studio.portraits.models import Portrait
    from studio.tests.factories import UserFactory

    plain_static_files()
    user = UserFactory(email="bench@example.com")
    started = time.perf_counter()
    seed(user, args.characters)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    print(f"[{vendor}] seeded {args.characters} characters in {time.perf_counter() - started:.1f} s")
    counted = Character.objects.filter(owner=user).aggregate(total=Sum("portrait_count"))["total"]
    assert counted == Portrait.objects.filter(owner=user).exclude(thumbnail="").count(), "stored counts"

    client = Client()
    client.force_login(user)
    page_url = reverse("studio:character_list")
    scroll = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "character-more"}
    results = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "character-results"}
    calls = {}
    for sort in SORTS:
        order = listing.SORTS[sort][1]
        rows = listing.with_cards(Character.objects.filter(owner=user), sort).order_by(*order.order_by())
        # The cursor of the row before the last full page: its scroll request is the last page.
        last_anchor = rows[args.characters - listing.PAGE_SIZE - 1]
        second_anchor = rows[listing.PAGE_SIZE - 1]
        last_url = f"{page_url}?sort={sort}&after={order.encode(last_anchor)}"
        second_url = f"{page_url}?sort={sort}&after={order.encode(second_anchor)}"
        calls[f"{sort} page 1 (full page)"] = lambda s=sort: client.get(page_url, {"sort": s})
        calls[f"{sort} page 1 (HTMX results)"] = lambda s=sort: client.get(page_url, {"sort": s}, **results)
        calls[f"{sort} page 2 (HTMX scroll)"] = lambda u=second_url: client.get(u, **scroll)
        calls[f"{sort} last page (HTMX scroll)"] = lambda u=last_url: client.get(u, **scroll)

    warm_up = 3
    samples: dict[str, list[float]] = {name: [] for name in calls}
    queries: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for round_number in range(args.requests + warm_up):
        for name, call in calls.items():
            if round_number < warm_up:
                with CaptureQueriesContext(connection) as captured:
                    response = call()
                assert response.status_code == 200, (name, response.status_code)
                queries[name] = len(captured)
                sizes[name] = len(response.content)
                continue
            t0 = time.perf_counter()
            call()
            samples[name].append((time.perf_counter() - t0) * 1000)
    for name in calls:
        p50, p95 = median(samples[name]), percentile(samples[name], 0.95)
        print(
            f"[{vendor}] {name}: p50 {p50:.2f} ms, p95 {p95:.2f} ms, {queries[name]} queries,"
            f" {sizes[name] / 1024:.1f} KB"
        )

    tag = vendor.lower()
    for sort in SORTS:
        first, first_htmx = samples[f"{sort} page 1 (full page)"], samples[f"{sort} page 1 (HTMX results)"]
        final = samples[f"{sort} last page (HTMX scroll)"]
        if sort in TIMED_SORTS:
            budget(f"characters {sort} page 1 p50 ({tag}, full page)", median(first), "ms", 20)
            budget(f"characters {sort} last page p50 ({tag})", median(final), "ms", 20)
        ratio = median(final) / median(first_htmx)
        budget(f"characters {sort} last page / page 1 ({tag}, both HTMX)", ratio, "x", 1.3)
        budget(
            f"characters {sort} page 1 queries ({tag}, all incl. session+user)",
            queries[f"{sort} page 1 (full page)"],
            "queries",
            4,
        )
    budget(f"characters page 1 HTML ({tag})", sizes["updated page 1 (full page)"] / 1024, "KB", 60)
    for sort in SORTS[1:]:
        budget(f"characters {sort} page 1 HTML ({tag})", sizes[f"{sort} page 1 (full page)"] / 1024, "KB", 60)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--characters", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--postgres", default="auto", help="a server URL, 'auto' (try localhost) or 'off'")
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.database_url is not None:
        run(args)
        sys.exit(exit_code())
    # Each database runs in its own process: Django is set up once per process. Exit 1 if either missed.
    common = [
        sys.executable,
        __file__,
        "--characters",
        str(args.characters),
        "--requests",
        str(args.requests),
    ]
    codes = [subprocess.run([*common, "--database-url", ""], check=False).returncode]
    pg_url = PG_DEFAULT if args.postgres == "auto" else args.postgres
    if args.postgres != "off" and create_scratch_postgres(pg_url):
        try:
            codes.append(subprocess.run([*common, "--database-url", pg_url], check=False).returncode)
        finally:
            drop_scratch_postgres(pg_url)
    sys.exit(max(codes))


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    main()
