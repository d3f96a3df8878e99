"""Generation queue throughput and fairness: 200 jobs against a fake provider with 300 ms latency, W = 1, 2, 4
workers; then, with the same W workers busy on one user's 500 queued jobs, how long another user's single job
waits.

Each worker is its own process, as `manage.py db_worker` is deployed. The provider is the real OpenAI one:
the official SDK over real HTTP to the test suite's fake OpenAI server (studio/tests/fakes.py), which answers
every image request after the latency with a 64x64 PNG, base64 in JSON as the API does.
Budgets: W workers reach >= 90 % of the ideal W / 0.3 s jobs per second, and the per-job overhead over
the provider's latency (W x wall / jobs - 0.3 s: claiming, the task row, the HTTP call and decoding its
answer, storing PNG + thumbnail) is <= 20 ms. Fairness: the single job is delayed by at most one job per
worker (round robin by user, studio/portraits/scheduling.py): at most W of the busy user's jobs start between
its queueing and its start, and it waits at most one job's latency plus 100 ms (a first-in-first-out queue
would make it wait 500 / W jobs). Runs on a scratch SQLite file (WAL), then on PostgreSQL when one is
reachable. Also prints, outside the budgets, what storing a full-size 1024x1024 answer costs a worker.

python bench/queue.py [--jobs 200] [--latency 0.3] [--workers 1,2,4] [--backlog 500] [--database-url URL]
                      [--no-postgres]
"""

from __future__ import annotations

import sys
from pathlib import Path

# This script is called queue.py: keep its folder off the front of sys.path so `import queue` (used by the
# standard library's thread pools) finds the standard module, not this file.
_HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [entry for entry in sys.path if entry not in (_HERE, "")]
import queue  # noqa: F401

sys.path.append(_HERE)

import argparse
import os
import subprocess
import time
from dataclasses import dataclass

from _setup import ROOT, budget, django_with_scratch_db, exit_code

POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/dali_bench_queue"
LATENCY = 0.3


def _postgres_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(
            "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True, connect_timeout=2
        ) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = 'dali_bench_queue'").fetchone()
            if exists:
                conn.execute("DROP DATABASE dali_bench_queue WITH (FORCE)")
            conn.execute("CREATE DATABASE dali_bench_queue")
        return True
    except Exception:
        return False


def worker_process(worker_id: str, interval: float) -> None:
    """One `db_worker` process, as deployed (DATABASE_URL and the fake's OPENAI_BASE_URL from env)."""
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from studio.portraits.providers import get_provider

    # A long-running worker has imported the SDK and built its client long before: not timed here either.
    assert get_provider("openai").client is not None
    from django_tasks_db.management.commands.db_worker import Worker

    worker = Worker(
        queue_names=["default"],
        interval=interval,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )
    worker.configure_signals()
    print("ready", flush=True)
    worker.run()


@dataclass
class Fairness:
    wait: float  # seconds from the single job's queueing to its start
    ahead: int  # the busy user's jobs that started in between


def run_round(workers: int, jobs: int, interval: float, backlog: int) -> tuple[float, int, float, Fairness]:
    """W worker processes (separate interpreters, as `manage.py db_worker` runs in production)."""
    from django_tasks_db.models import DBTaskResult

    from studio.portraits.generation import JobOptions, JobSpec, queue_jobs
    from studio.portraits.models import Portrait
    from studio.portraits.providers import get_provider
    from studio.tests.factories import UserFactory

    options = JobOptions("openai", size="1024x1024", quality="low")

    pool = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--worker-id",
                f"bench-{workers}-{n}",
                "--latency",
                str(LATENCY),
                "--interval",
                str(interval),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(workers)
    ]
    try:
        for process in pool:  # wait until every worker has started Django and is polling
            assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        owner = UserFactory()
        get_provider("openai")  # the web process has imported the provider module already
        specs = [JobSpec(f"bench prompt {i}", seed=i) for i in range(jobs)]
        started = time.perf_counter()
        portraits = queue_jobs(owner, specs, options)
        queued_ms = (time.perf_counter() - started) * 1000
        batch = portraits[0].batch
        active = Portrait.objects.filter(batch=batch, status__in=Portrait.ACTIVE_STATUSES)
        while active.exists():
            time.sleep(0.05)
        wall = time.perf_counter() - started
        succeeded = Portrait.objects.filter(batch=batch, status="succeeded").count()
        fairness = fairness_round(workers, backlog, options)
    finally:
        for process in pool:
            process.terminate()
        for process in pool:
            process.wait(timeout=20)
        DBTaskResult.objects.filter(status="READY").delete()  # the cancelled backlog's unused turns
    return wall, succeeded, queued_ms, fairness


def fairness_round(workers: int, backlog: int, options: object) -> Fairness:
    """With every worker busy on one user's `backlog` queued jobs, another user queues one job: how long it
    waits, and how many of the busy user's jobs start before it."""
    from studio.portraits.generation import JobSpec, cancel_batch, queue_jobs
    from studio.portraits.models import Portrait
    from studio.tests.factories import UserFactory

    busy, newcomer = UserFactory(), UserFactory()
    batch = queue_jobs(busy, [JobSpec(f"backlog {i}", seed=i) for i in range(backlog)], options)[0].batch
    running = Portrait.objects.filter(batch=batch, status=Portrait.Status.RUNNING)
    while running.count() < workers:
        time.sleep(0.01)
    time.sleep(LATENCY / 2)  # arrive while every worker is in the middle of a job
    (single,) = queue_jobs(newcomer, [JobSpec("the newcomer's single job")], options)
    while (started_at := Portrait.objects.values_list("started_at", flat=True).get(pk=single.pk)) is None:
        time.sleep(0.005)
    cancel_batch(batch)
    while Portrait.objects.filter(status=Portrait.Status.RUNNING).exists():
        time.sleep(0.05)
    ahead = Portrait.objects.filter(
        batch=batch, started_at__gt=single.queued_at, started_at__lt=started_at
    ).count()
    return Fairness((started_at - single.queued_at).total_seconds(), ahead)


def full_size_store_ms() -> float:
    """A worker's time to store one 1024x1024 answer (decode, PNG text chunks, 384 px WebP thumbnail), the
    size real providers send, median of 5; the timed rounds use 64x64 answers."""
    import io

    from PIL import Image

    from studio.portraits.files import encode_portrait_files

    size = (1024, 1024)
    noise = Image.effect_noise(size, 24)  # photo-like: gradients with grain, so the PNG is ~2 MB like theirs
    image = Image.merge(
        "RGB", (Image.linear_gradient("L").resize(size), noise, Image.radial_gradient("L").resize(size))
    )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    data = buffer.getvalue()
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        encode_portrait_files(data, {"prompt": "bench"})
        samples.append((time.perf_counter() - started) * 1000)
    return sorted(samples)[2]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--backlog", type=int, default=500, help="the busy user's queued jobs (fairness)")
    parser.add_argument("--interval", type=float, default=0.05, help="worker poll interval when idle (s)")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--worker-id", help=argparse.SUPPRESS)  # internal: run as one worker process
    args = parser.parse_args()
    if args.latency <= 0:
        parser.error("--latency must be more than 0 (the ideal rate is W / latency)")
    global LATENCY
    LATENCY = args.latency
    if args.worker_id:
        worker_process(args.worker_id, args.interval)
        return
    os.environ["IMAGE_PROVIDERS"] = "local,openai"
    os.environ["DAILY_IMAGE_LIMIT"] = "0"
    os.environ["DAILY_SPEND_LIMIT_USD"] = "0"
    os.environ["LOG_LEVEL"] = "ERROR"
    sys.path.insert(0, str(ROOT))
    from studio.tests.fakes import FakeOpenAI, png_bytes  # no Django needed: plain http.server

    fake = FakeOpenAI(latency=LATENCY).start()
    fake.image = png_bytes(64, 64)
    os.environ["OPENAI_BASE_URL"] = f"{fake.url}/v1"  # read by settings here and in the worker processes
    os.environ["OPENAI_API_KEY"] = fake.api_key
    url = django_with_scratch_db("queue", args.database_url)

    database = "postgresql" if url.startswith("postgres") else "sqlite"
    all_ok = True
    for workers in [int(w) for w in args.workers.split(",")]:
        wall, succeeded, queued_ms, fairness = run_round(workers, args.jobs, args.interval, args.backlog)
        rate = args.jobs / wall
        ideal = workers / LATENCY
        overhead_ms = (workers * wall / args.jobs - LATENCY) * 1000
        print(
            f"{database} W={workers}: {args.jobs} jobs ({succeeded} succeeded) in {wall:.2f} s, "
            f"{rate:.2f} jobs/s, ideal {ideal:.2f}, ratio {rate / ideal:.3f}, "
            f"overhead {overhead_ms:.1f} ms/job; queueing the batch took {queued_ms:.0f} ms (one web request)"
        )
        all_ok = all_ok and succeeded == args.jobs
        budget(f"queue {database} W={workers} throughput / ideal", rate / ideal, "", 0.9, at_least=True)
        budget(f"queue {database} W={workers} per-job overhead", overhead_ms, "ms", 20)
        fifo = args.backlog / workers * LATENCY
        print(
            f"{database} W={workers}: one job queued behind another user's {args.backlog} waited "
            f"{fairness.wait:.3f} s ({fairness.ahead} of their jobs started first; first-in-first-out: "
            f"~{fifo:.0f} s)"
        )
        budget(f"queue {database} W={workers} fairness: jobs started ahead", fairness.ahead, "", workers)
        budget(f"queue {database} W={workers} fairness: wait", fairness.wait, "s", LATENCY + 0.1)
    print(
        f"{database}: a worker stores a full-size 1024x1024 answer (decode, PNG chunks, WebP thumbnail) "
        f"in {full_size_store_ms():.1f} ms; the timed jobs above store 64x64 answers (not in the budgets)"
    )
    if not all_ok:
        print("some jobs did not succeed", file=sys.stderr)
        sys.exit(1)
    code = exit_code()
    if args.database_url is None and not args.no_postgres:
        if _postgres_reachable():
            postgres = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--database-url",
                    POSTGRES_URL,
                    "--jobs",
                    str(args.jobs),
                    "--latency",
                    str(args.latency),
                    "--workers",
                    args.workers,
                    "--interval",
                    str(args.interval),
                    "--backlog",
                    str(args.backlog),
                ],
                check=False,
            )
            code = max(code, postgres.returncode)
        else:
            print("PostgreSQL not reachable at 127.0.0.1:5432: skipped")
    sys.exit(code)


if __name__ == "__main__":
    main()
