"""Scale-out on real parts: two gunicorn web processes and two RQ workers share one PostgreSQL database, one
Redis and one S3 bucket (moto's S3 server). Jobs queued through either web process spread over both workers,
and every painted file is served by either web process.

Runs where the suite runs on PostgreSQL (DATABASE_URL) with Redis at 127.0.0.1:6379; skipped elsewhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.urls import reverse

from studio.portraits.models import Portrait
from studio.tests.factories import CharacterFactory, UserFactory
from studio.tests.s3 import free_port

ROOT = Path(__file__).resolve().parents[2]
# Database 12 keeps these queues apart from anything else on the local Redis (test_rq_backend uses 13).
REDIS_URL = "redis://127.0.0.1:6379/12"
JOBS = 8
STARTUP_TIMEOUT = 40  # seconds, for each process to answer
JOBS_TIMEOUT = 60  # seconds, for every job to be painted
LOGS = "the test's tmp_path (process-N.log)"


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except Exception:  # no redis package or no server: skip either way
        return False


pytestmark = [
    pytest.mark.django_db(transaction=True),  # the other processes must see the rows
    pytest.mark.skipif(connection.vendor != "postgresql", reason="several processes need PostgreSQL"),
    pytest.mark.skipif(not _redis_up(), reason="no Redis at 127.0.0.1:6379"),
    pytest.mark.skipif(
        shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is None, reason="no gunicorn"
    ),
]


def process_environment(s3_variables: dict[str, str]) -> dict[str, str]:
    db = connection.settings_dict  # the test database, which this test's rows are committed to
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{host}/{db['NAME']}"
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_ALLOW"))},
        "DEBUG": "1",
        "DATABASE_URL": url,
        "TASK_BACKEND": "django_tasks_rq.RQBackend",
        "REDIS_URL": REDIS_URL,
        "PORTRAIT_SIZE": "128",
        "LOG_LEVEL": "WARNING",
        **s3_variables,
    }


def wait_for(check, timeout: float, what: str, processes: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        for process in processes:
            if process.poll() is not None:
                pytest.fail(f"{what}: a process exited early ({process.args}); its log is in {LOGS}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s; the processes' logs are in {LOGS}")
        time.sleep(0.2)


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:  # an RQ worker's warm shutdown can wait on Redis
        process.kill()
        process.wait(timeout=5)


def logged_in_session(user, base: str) -> requests.Session:
    """A browser-like session for `user`: a session row in the shared database, and a CSRF cookie."""
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    session = requests.Session()
    session.cookies.set(settings.SESSION_COOKIE_NAME, store.session_key)
    session.get(f"{base}{reverse('studio:character_list')}", timeout=10).raise_for_status()
    session.headers["X-CSRFToken"] = session.cookies[settings.CSRF_COOKIE_NAME]
    return session


def test_it_spreads_jobs_over_two_workers_and_serves_files_from_either_web_process(s3_server, tmp_path):
    import redis
    from rq import Queue
    from rq.job import Job

    connection_ = redis.Redis.from_url(REDIS_URL)
    connection_.flushdb()
    bucket = s3_server.new_bucket()
    env = process_environment(s3_server.environment(bucket))
    user = UserFactory()
    character = CharacterFactory(owner=user, name="Iris Vane")
    ports = [free_port(), free_port()]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    with ExitStack() as stack:
        processes: list[subprocess.Popen] = []

        def start(*args: str) -> None:
            log = stack.enter_context((tmp_path / f"process-{len(processes)}.log").open("w"))
            process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            processes.append(process)
            stack.callback(stop, process)

        for port in ports:
            start(gunicorn, "site_config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1")
        for name in ("worker-a", "worker-b"):
            start(
                sys.executable,
                "manage.py",
                "rqworker",
                "default",
                "--job-class",
                "django_tasks_rq.Job",
                "--name",
                name,
            )

        wait_for(lambda: all(answers(f"{base}/healthz") for base in bases), STARTUP_TIMEOUT, "web", processes)
        wait_for(lambda: connection_.scard("rq:workers") == 2, STARTUP_TIMEOUT, "workers", processes)

        # Each web process queues half the jobs, one click each.
        sessions = [logged_in_session(user, base) for base in bases]
        url = reverse("studio:portrait_generate", args=[character.pk])
        for index in range(JOBS):
            base, session = bases[index % 2], sessions[index % 2]
            session.post(f"{base}{url}", timeout=30, allow_redirects=False).raise_for_status()
        assert Portrait.objects.filter(owner=user).count() == JOBS

        painted = Portrait.objects.filter(owner=user, status=Portrait.Status.SUCCEEDED)
        failed = Portrait.objects.filter(owner=user, status=Portrait.Status.FAILED)
        wait_for(lambda: painted.count() + failed.count() == JOBS, JOBS_TIMEOUT, "jobs", processes)
        assert not failed.exists(), list(failed.values_list("error_message", flat=True))

        # Which worker ran each job: RQ records the worker's name on the job (once it has finished it, just
        # after the portrait's commit).
        registry = Queue("default", connection=connection_).finished_job_registry
        wait_for(lambda: registry.count == JOBS, 10, "RQ's finished jobs", processes)
        jobs = Job.fetch_many(registry.get_job_ids(), connection=connection_)
        runs = [job.worker_name for job in jobs if job is not None]
        assert len(runs) == JOBS
        assert set(runs) == {"worker-a", "worker-b"}, runs

        # Every file is in the one bucket and served by either web process.
        for portrait in painted:
            for base, session in zip(bases, sessions, strict=True):
                response = session.get(
                    f"{base}{reverse('studio:portrait_image', args=[portrait.pk])}", timeout=10
                )
                assert response.status_code == 200
                assert response.content.startswith(b"\x89PNG")
        assert len(s3_server.keys(bucket)) == 2 * JOBS
    connection_.flushdb()
