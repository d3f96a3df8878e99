"""Shared set-up for the bench scripts: a scratch database and Django, before any model import."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A script's own folder is sys.path[0], where bench/queue.py would shadow the standard library's queue
# (which asgiref imports); this module is already loaded, so the scripts no longer need that entry.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != ROOT / "bench"]


def django_with_scratch_db(name: str, database_url: str | None = None) -> str:
    """Point Django at a fresh scratch database (SQLite file unless a URL is given) and migrate it."""
    sys.path.insert(0, str(ROOT))
    scratch = Path(tempfile.mkdtemp(prefix=f"dali-bench-{name}-"))
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{scratch / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-used-anywhere-else-0123456789")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ["MEDIA_ROOT"] = str(scratch / "media")
    # One user sends every request of a bench: the per-user throttles stay on (their cache cost is part of
    # what a request costs) with limits no bench reaches.
    for scope in ("PREVIEW", "PATTERN", "FRAMES", "IMPORT", "GENERATE"):
        os.environ.setdefault(f"THROTTLE_{scope}_PER_MINUTE", "100000000")
    import warnings

    warnings.filterwarnings("ignore", message="No directory at")  # WhiteNoise: no collectstatic in a bench
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    return os.environ["DATABASE_URL"]


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def median(samples: list[float]) -> float:
    return statistics.median(samples)


# The names of the budgets this process found over, for exit_code().
_over: list[str] = []


def budget_line(name: str, value: float, unit: str, limit: float, *, at_least: bool = False) -> str:
    """The `budget: ...` line DESIGN.md section 4 describes; an over budget is remembered for exit_code()."""
    ok = value >= limit if at_least else value <= limit
    if not ok:
        _over.append(name)
    sign = ">=" if at_least else "<="
    suffix = f" {unit}" if unit else ""
    return f"budget: {name} = {value:.3g}{suffix} (limit {sign} {limit:g}{suffix}) {'ok' if ok else 'over'}"


def budget(name: str, value: float, unit: str, limit: float, *, at_least: bool = False) -> bool:
    line = budget_line(name, value, unit, limit, at_least=at_least)
    print(line)
    return line.endswith(" ok")


def exit_code() -> int:
    """1 when any budget printed by this process was over (so `make bench` reports it), else 0."""
    return 1 if _over else 0


def _admin_connection(url: str):
    import psycopg

    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    return psycopg.connect(admin_url, autocommit=True, connect_timeout=3)


def create_scratch_postgres(url: str) -> bool:
    """A fresh PostgreSQL database at `url` (dropped first); False when no server answers."""
    name = url.rsplit("/", 1)[1]
    try:
        with _admin_connection(url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return True
    except Exception as error:  # no server: SQLite figures only
        print(f"PostgreSQL not reachable ({error.__class__.__name__}); SQLite figures only.")
        return False


def drop_scratch_postgres(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with _admin_connection(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def plain_static_files() -> None:
    """No collectstatic in a bench: plain static URLs instead of the production manifest."""
    from django.conf import settings
    from django.test.utils import override_settings

    static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    override_settings(STORAGES={**settings.STORAGES, "staticfiles": static}).enable()


# A production-like server for the browser benches (ux.py, screenshots.py).
GUNICORN = ("--workers", "2", "--timeout", "60", "--log-level", "warning")


def production_like_demo(name: str):
    """Django as production runs it (DEBUG off, collected static, plain http for a local run) on a scratch
    SQLite database seeded with the UX demo (studio/tests/ux_pages.py). Returns (demo, session cookie value)
    of the demo user, signed in."""
    os.environ.update(
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        STATIC_ROOT=tempfile.mkdtemp(prefix=f"dali-{name}-static-"),
    )
    django_with_scratch_db(name)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from studio.tests.ux_pages import seed_ux_demo

    call_command("collectstatic", interactive=False, verbosity=0)
    demo = seed_ux_demo()
    client = Client()
    client.force_login(get_user_model().objects.get(email=demo.email))
    return demo, client.cookies[settings.SESSION_COOKIE_NAME].value


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port: int):
    """gunicorn serving the app (the environment as this process has it) once it answers /healthz."""
    # Imported here, so the benches that start no server load no more than they use.
    import subprocess
    import time
    import urllib.request

    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "site_config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            *GUNICORN,
        ],
        cwd=ROOT,
        env=os.environ.copy(),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("gunicorn did not answer /healthz within 30 s")
