"""Gallery pages with 100,000 portraits: keyset pagination against Django's OFFSET Paginator.

python bench/gallery.py [--portraits 100000] [--requests 60] [--postgres URL|auto|off]

Also a filtered gallery (the "More filters" drawer: the character's hair colour, a size, a cost range), its
first page and a page as deep as page 2000 of the unfiltered one.

Seeds one user's portraits (bulk inserts, shared real thumbnail files), then measures "My portraits" page 1
(the full page) and page 2,000 (the HTMX scroll request whose cursor is row 47,976) through the test client
with a logged-in user, and the same page 2,000 served with Paginator(...).page(2000) (COUNT + OFFSET) as the
baseline, in the same run. Queries are counted with CaptureQueriesContext over the whole request (in the
warm-up rounds; the timed ones run without it), so they include the two that every logged-in request makes
(session, user). SQLite always; PostgreSQL in a scratch
database `dali_bench_gallery` (dropped at the end) when a server is reachable, with query plans printed.

The oldest twentieth of the portraits (past every timed page) includes failed ones, likes and favourites, so
the status, liked and favourites plans run on non-empty sets while the timed pages show the same rows as
ever. With fewer portraits than page 2,000 needs, the deepest full page is timed instead (a smoke run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
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

PAGE = 24
TARGET_PAGE = 2000
PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/dali_bench_gallery"


def run(args: argparse.Namespace) -> None:
    url = django_with_scratch_db("gallery", database_url=args.database_url)
    vendor = "PostgreSQL" if url.startswith("postgres") else "SQLite"

    from django.core.paginator import Paginator
    from django.db import connection
    from django.http import QueryDict
    from django.template.loader import render_to_string
    from django.test import Client, RequestFactory
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from studio import painter
    from studio.portraits import galleries
    from studio.portraits.files import encode_portrait_files
    from studio.portraits.galleries import Cursor, Filters, Scope
    from studio.portraits.models import Favourite, Like, Portrait
    from studio.portraits.seeding import seed_portraits, shared_files
    from studio.portraits.views.galleries import CARD_FIELDS, attach_urls
    from studio.tests.factories import UserFactory

    plain_static_files()
    user = UserFactory(email="bench@example.com")
    started = time.perf_counter()
    files = shared_files()
    extras = args.portraits // 20
    ordinary = args.portraits - extras
    seed_portraits(user, ordinary, characters=8, batch_size=5000, files=files)
    if extras:
        oldest = (
            Portrait.objects.filter(owner=user).order_by("created_at").values_list("created_at", flat=True)[0]
        )
        seed_portraits(
            user,
            extras,
            characters=8,
            batch_size=5000,
            files=files,
            newest=oldest - dt.timedelta(minutes=1),
            random_seed=8,
            failed_fraction=0.2,
            liked_fraction=0.3,
            favourite_fraction=0.2,
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # A gallery with 100k portraits is measured in its steady state: freshly bulk-inserted rows would
            # otherwise set autovacuum to work during the timed requests (2 cores).
            cursor.execute("VACUUM ANALYZE")
            cursor.execute("CHECKPOINT")
    print(f"[{vendor}] seeded {args.portraits} portraits in {time.perf_counter() - started:.1f} s")
    failed = Portrait.objects.filter(owner=user, status=Portrait.Status.FAILED).count()
    likes, favourites = Like.objects.filter(user=user).count(), Favourite.objects.filter(user=user).count()
    print(
        f"[{vendor}] of which {failed} failed, {likes} liked, {favourites} favourites"
        " (all older than the timed pages)"
    )
    # Page 2000 with 100k portraits; the deepest page of ordinary rows in a smaller smoke run.
    target_page = min(TARGET_PAGE, ordinary // PAGE)
    if target_page != TARGET_PAGE:
        print(f"[{vendor}] only {ordinary} ordinary portraits: 'page 2000' below is page {target_page}")

    client = Client()
    client.force_login(user)
    gallery = reverse("studio:my_gallery")
    base = galleries.gallery_queryset(Scope.MINE, user, Filters())
    skip = (target_page - 1) * PAGE  # rows before page 2000
    anchor = base.select_related(None).only("id", "created_at")[skip - 1 : skip].get()  # row 47,976
    cursor_url = f"{gallery}?after={Cursor.of(anchor).encode()}"
    htmx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "gallery-more"}

    view_queries: dict[str, int] = {}
    results = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "gallery-results"}
    second_url = client.get(gallery).content.decode().split('gallery-more-link" href="')[1].split('"')[0]
    second_url = second_url.replace("&amp;", "&")

    # Baseline: the same page 2000 through Django's Paginator (COUNT(*) + OFFSET), same template and request.
    request = RequestFactory().get(gallery, **htmx)
    request.user = user
    cards = base.only(*CARD_FIELDS)

    def offset_page():
        page = Paginator(cards, PAGE).page(target_page)
        portraits = list(page.object_list)
        attach_urls(portraits, own=True)
        context = {"page": {"portraits": portraits}, "own": True, "user": user, "scope": "mine"}
        return render_to_string("studio/portraits/gallery.html#page", context, request=request)

    def keyset_page_direct():
        page = galleries.keyset_page(cards, Cursor.of(anchor))
        attach_urls(page.portraits, own=True)
        context = {"page": page, "own": True, "user": user, "scope": "mine"}
        return render_to_string("studio/portraits/gallery.html#page", context, request=request)

    # The "More filters" drawer: an appearance attribute of the character (a join) and a generation
    # parameter (a JSON key), from the newest page to one as deep as page 2000 of the unfiltered gallery.
    character = user.characters.order_by("id").first()
    filtered_query = f"look=hair_color:{character.hair_color}&size=512x512&cost_max=1"
    filtered_url = f"{gallery}?{filtered_query}"
    deep_url = f"{gallery}?{filtered_query}&after={Cursor.of(anchor).encode()}"

    calls = {
        "page1": lambda: client.get(gallery),
        "filtered_page1": lambda: client.get(filtered_url, **results),
        "filtered_deep": lambda: client.get(deep_url, **htmx),
        "page1_htmx": lambda: client.get(gallery, **results),
        "page2": lambda: client.get(second_url, **htmx),
        "page2000": lambda: client.get(cursor_url, **htmx),
        "keyset_direct": keyset_page_direct,
        "offset": offset_page,
    }
    # Interleaved rounds, so a noisy moment on the machine hits every variant alike. The warm-up rounds
    # count the queries; the timed rounds run without CaptureQueriesContext, whose SQL recording (quoting
    # every parameter, on SQLite with an extra query) would add 2-3 ms that production never pays.
    warm_up = 5
    samples: dict[str, list[float]] = {name: [] for name in calls}
    queries: dict[str, int] = {}
    responses: dict[str, object] = {}
    for round_number in range(args.requests + warm_up):
        for name, call in calls.items():
            if round_number < warm_up:  # also warms caches and compiles templates
                with CaptureQueriesContext(connection) as captured:
                    responses[name] = call()
                queries[name] = len(captured)
                # The view's own queries: all but the session and user look-ups of every logged-in request.
                view_queries[name] = sum(
                    1
                    for q in captured.captured_queries
                    if not any(t in q["sql"] for t in ("django_session", "accounts_user"))
                )
                continue
            t0 = time.perf_counter()
            responses[name] = call()
            samples[name].append((time.perf_counter() - t0) * 1000)
    page1, page1_queries, page1_response = samples["page1"], queries["page1"], responses["page1"]
    page1_htmx, page1_htmx_queries = samples["page1_htmx"], queries["page1_htmx"]
    page2, page2_queries = samples["page2"], queries["page2"]
    page2000, page2000_queries, page2000_response = (
        samples["page2000"],
        queries["page2000"],
        responses["page2000"],
    )
    keyset_direct, keyset_direct_queries = samples["keyset_direct"], queries["keyset_direct"]
    offset, offset_queries = samples["offset"], queries["offset"]
    assert page2000_response.content.count(b'class="col gallery-card"') == PAGE
    # A full page wherever enough portraits match (always at 5,000 and more); a smoke run with a few hundred
    # may hold fewer past the deep cursor, and then the page shows exactly those.
    matching = galleries.gallery_queryset(Scope.MINE, user, Filters.from_query(QueryDict(filtered_query)))
    expected_first = min(PAGE, matching.count())
    expected_deep = min(PAGE, matching.filter(galleries._older_than(Cursor.of(anchor))).count())
    assert expected_first > 0, "the filter matches some portraits"
    assert responses["filtered_page1"].content.count(b'class="col gallery-card"') == expected_first, (
        "filter finds a page"
    )
    assert responses["filtered_deep"].content.count(b'class="col gallery-card"') == expected_deep, (
        "and a deep one"
    )
    if expected_deep < PAGE:
        print(f"[{vendor}] only {expected_deep} filtered portraits past the deep cursor: a partial page")
    first_of_2000 = base.select_related(None)[skip : skip + 1].get()
    assert f'id="card-{first_of_2000.pk}"'.encode() in page2000_response.content, "keyset page 2000 is exact"

    def line(name: str, samples: list[float], queries: int, size: int | None = None) -> None:
        extra = f", {size / 1024:.1f} KB HTML" if size is not None else ""
        print(
            f"[{vendor}] {name}: p50 {median(samples):.2f} ms, p95 {percentile(samples, 0.95):.2f} ms, "
            f"{queries} queries{extra}"
        )

    line("page 1 (full page)", page1, page1_queries, len(page1_response.content))
    print(f"[{vendor}] page 1 (full page): {view_queries['page1']} of those queries are the view's own")
    line("page 1 (HTMX, filter results)", page1_htmx, page1_htmx_queries)
    line("page 2 (HTMX scroll)", page2, page2_queries)
    line("page 2000 (HTMX scroll, keyset)", page2000, page2000_queries, len(page2000_response.content))
    line("page 2000 keyset, view code only", keyset_direct, keyset_direct_queries)
    line("page 2000 OFFSET Paginator, view code only (baseline)", offset, offset_queries)
    print(
        f"[{vendor}] page 2000: keyset {median(keyset_direct):.2f} ms vs OFFSET {median(offset):.2f} ms "
        f"({median(offset) / median(keyset_direct):.1f}x slower with OFFSET)"
    )

    filtered, filtered_deep = samples["filtered_page1"], samples["filtered_deep"]
    line(f"filtered page 1 (HTMX, {filtered_query})", filtered, queries["filtered_page1"])
    line("filtered deep page (HTMX scroll, keyset)", filtered_deep, queries["filtered_deep"])

    if connection.vendor == "postgresql" and args.explain:
        explain_plans(user)

    thumb_kb = 0.0
    if args.check_thumbnail:
        files = encode_portrait_files(
            painter.render_png({"hair_color": "red", "background": "forest"}, 3, 1024)
        )
        thumb_kb = len(files.webp) / 1024
        print(f"[{vendor}] painter 1024 px render -> WebP thumbnail {thumb_kb:.1f} KB")

    tag = vendor.lower()
    budget(f"gallery page 1 queries ({tag}, full page, all incl. session+user)", page1_queries, "queries", 3)
    budget(f"gallery scroll page queries ({tag}, all incl. session+user)", page2000_queries, "queries", 3)
    budget(f"gallery page 1 p50 ({tag}, full page)", median(page1), "ms", 20)
    budget(f"gallery page 2000 p50 ({tag})", median(page2000), "ms", 20)
    budget(f"gallery page 2000 / page 1 ({tag}, both HTMX)", median(page2000) / median(page1_htmx), "x", 1.3)
    budget(f"gallery page 1 HTML ({tag})", len(page1_response.content) / 1024, "KB", 60)
    budget(
        f"gallery filtered page queries ({tag}, all incl. session+user)",
        queries["filtered_deep"],
        "queries",
        3,
    )
    budget(f"gallery filtered page 1 p50 ({tag})", median(filtered), "ms", 20)
    budget(f"gallery filtered deep page p50 ({tag})", median(filtered_deep), "ms", 20)
    budget(
        f"gallery filtered deep / page 1 ({tag}, both HTMX)",
        median(filtered_deep) / median(filtered),
        "x",
        1.3,
    )
    if args.check_thumbnail:
        budget("gallery thumbnail WebP", thumb_kb, "KB", 30)


def explain_plans(user) -> None:
    """The plan of each filter the UI offers, on PostgreSQL (an Index Scan, never a Seq Scan + Sort)."""
    from django.http import QueryDict

    from studio.portraits import galleries
    from studio.portraits.galleries import Cursor, Filters, Scope

    character = user.characters.first()
    # Every filter the UI offers, alone and in the combinations it allows (the community has no character or
    # status filter). "rows" is how many of the 25 a page fetches were found: the set is not empty.
    cases = [
        ("mine", Scope.MINE, ""),
        ("character", Scope.MINE, f"character={character.pk}"),
        ("provider", Scope.MINE, "provider=openai"),
        ("status", Scope.MINE, "status=failed"),
        ("liked", Scope.MINE, "liked=1"),
        ("favourites", Scope.MINE, "favourites=1"),
        ("date range", Scope.MINE, "date_from=2020-01-01&date_to=2020-12-31"),
        ("search", Scope.MINE, "q=forest"),
        ("provider+search", Scope.MINE, "provider=local&q=hair"),
        ("character+status", Scope.MINE, f"character={character.pk}&status=failed"),
        ("character+provider", Scope.MINE, f"character={character.pk}&provider=openai"),
        ("provider+status", Scope.MINE, "provider=openai&status=failed"),
        ("community", Scope.COMMUNITY, ""),
        ("community+search", Scope.COMMUNITY, "q=forest"),
    ]
    base = galleries.gallery_queryset(Scope.MINE, user, Filters())
    anchor = base[min(40000, base.count() // 2)]
    for name, scope, query in cases:
        filters = Filters.from_query(QueryDict(query))
        portraits = galleries.gallery_queryset(scope, user, filters)
        portraits = portraits.filter(galleries._older_than(Cursor.of(anchor)))[: galleries.PAGE_SIZE + 1]
        plan = portraits.explain(analyze=True)
        lines = [row.strip() for row in plan.splitlines()]
        scans = [row for row in lines if "Scan" in row][:3]
        found = re.search(r"actual time=\S+ rows=(\d+)", lines[0])
        timing = next((row for row in lines if row.startswith("Execution Time")), "")
        rows = f"rows {found.group(1)}" if found else "rows ?"
        print(f"[PostgreSQL] plan {name}: {rows} | {' | '.join(scans)} | {timing}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--portraits", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--postgres", default="auto", help="a server URL, 'auto' (try localhost) or 'off'")
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--explain", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--check-thumbnail", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.database_url is not None or args.postgres == "child":
        run(args)
        sys.exit(exit_code())
    # Each database runs in its own process: Django is set up once per process. Exit 1 if either missed.
    common = [sys.executable, __file__, "--portraits", str(args.portraits), "--requests", str(args.requests)]
    codes = [subprocess.run([*common, "--database-url", "", "--check-thumbnail"], check=False).returncode]
    pg_url = PG_DEFAULT if args.postgres == "auto" else args.postgres
    if args.postgres != "off" and create_scratch_postgres(pg_url):
        try:
            postgres = subprocess.run([*common, "--database-url", pg_url, "--explain"], check=False)
            codes.append(postgres.returncode)
        finally:
            drop_scratch_postgres(pg_url)
    sys.exit(max(codes))


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    main()
