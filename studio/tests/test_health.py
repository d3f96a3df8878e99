from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from studio.portraits.generation import queue_character_portrait
from studio.tests.factories import CharacterFactory

ROOT = Path(django_settings.BASE_DIR)
READY_TOKEN = "probe-token-for-the-orchestrator"


@pytest.fixture
def probe(client, settings):
    """/readyz as the orchestrator sees it, with the READY_TOKEN that unlocks the checks' details."""
    settings.READY_TOKEN = READY_TOKEN
    return lambda: client.get("/readyz", HTTP_AUTHORIZATION=f"Bearer {READY_TOKEN}")


def test_it_says_the_process_is_up_without_a_login_or_the_database(client):
    # No django_db mark: any query here would fail the test.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_it_is_ready_with_the_database_up_and_no_task_waiting(probe):
    response = probe()
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["worker"]["ok"] is True


@pytest.mark.django_db(transaction=True)
def test_it_is_not_ready_when_a_task_has_waited_too_long_for_a_worker(probe, user, settings):
    settings.READY_WORKER_MAX_AGE = 60
    queue_character_portrait(CharacterFactory(owner=user))
    DBTaskResult.objects.update(enqueued_at=timezone.now() - dt.timedelta(seconds=300))
    response = probe()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["worker"]["ok"] is False
    assert "waited 300 s (limit 60 s)" in body["checks"]["worker"]["error"]


@pytest.mark.django_db(transaction=True)
def test_it_is_ready_again_once_a_worker_has_started_a_task_recently(probe, user, settings):
    settings.READY_WORKER_MAX_AGE = 60
    queue_character_portrait(CharacterFactory(owner=user))
    queue_character_portrait(CharacterFactory(owner=user))
    DBTaskResult.objects.update(enqueued_at=timezone.now() - dt.timedelta(seconds=300))
    first = DBTaskResult.objects.order_by("enqueued_at").first()
    first.claim("worker-1")  # what the worker does when it picks a task
    response = probe()
    assert response.status_code == 200
    assert response.json()["checks"]["worker"]["last_seen"] is not None


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _probe(database_url: str) -> dict:
    """Ask a fresh Django process, configured with this database, for /healthz and /readyz."""
    script = (
        "import django, json; django.setup(); from django.test import Client;"
        "c = Client(HTTP_AUTHORIZATION='Bearer probe-token-for-the-orchestrator');"
        "r1 = c.get('/healthz'); r2 = c.get('/readyz');"
        "print(json.dumps({'healthz': [r1.status_code, r1.json()], 'readyz': [r2.status_code, r2.json()]}))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "site_config.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "1",
        "ALLOWED_HOSTS": "testserver",
        "LOG_LEVEL": "CRITICAL",
        "READY_TOKEN": READY_TOKEN,
    }
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_it_is_not_ready_when_the_database_is_unreachable_but_still_alive():
    probe = _probe(f"postgres://postgres:hunter2-db-pass@127.0.0.1:{_closed_port()}/dali?connect_timeout=2")
    assert probe["healthz"] == [200, {"status": "ok"}]
    status, body = probe["readyz"]
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == {"ok": False, "error": "database unreachable (OperationalError)"}
    assert body["checks"]["worker"]["ok"] is False
    assert "hunter2" not in json.dumps(body)


@pytest.mark.django_db(transaction=True)
def test_it_tells_anonymous_callers_only_whether_it_is_ready(client, user, settings):
    settings.READY_TOKEN = READY_TOKEN
    settings.READY_WORKER_MAX_AGE = 60
    queue_character_portrait(CharacterFactory(owner=user))
    DBTaskResult.objects.update(enqueued_at=timezone.now() - dt.timedelta(seconds=300))
    assert client.get("/readyz").json() == {"status": "unavailable"}
    wrong = client.get("/readyz", HTTP_AUTHORIZATION="Bearer guess")
    assert wrong.status_code == 503 and wrong.json() == {"status": "unavailable"}
    client.force_login(user)
    assert "checks" not in client.get("/readyz").json()
    user.is_staff = True
    user.save()
    assert "waited 300 s" in client.get("/readyz").json()["checks"]["worker"]["error"]


def test_it_is_ready_in_a_fresh_process_with_a_reachable_database(tmp_path):
    database = tmp_path / "ready.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "DEBUG": "1"}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    probe = _probe(f"sqlite:///{database}")
    assert probe["readyz"][0] == 200
    assert probe["readyz"][1]["checks"]["database"] == {"ok": True}


def test_the_container_health_check_passes_against_a_running_server(tmp_path):
    """deploy/healthcheck.py (the Dockerfile's HEALTHCHECK) against a real production-mode server."""
    port = _closed_port()
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "x7!Qp2-production-like-secret-key-with-plenty-of-entropy-0123456789",
        "ALLOWED_HOSTS": "studio.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "PORT": str(port),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "site_config.wsgi:application", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            result = subprocess.run(
                [sys.executable, "deploy/healthcheck.py"], cwd=ROOT, env=env, capture_output=True, timeout=10
            )
            if result.returncode == 0:
                break
            time.sleep(0.1)
        assert result.returncode == 0, result.stderr
    finally:
        server.terminate()
        server.wait(timeout=10)
    down = subprocess.run([sys.executable, "deploy/healthcheck.py"], cwd=ROOT, env=env, capture_output=True)
    assert down.returncode == 1
