"""Login limits hold across processes (the shared cache), cover the admin, and cannot lock the owner out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse

from studio.tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
TOO_MANY = "Too many failed login attempts"

WRONG_PASSWORDS = """
import django
django.setup()
from django.test import Client

client = Client(HTTP_HOST="localhost")
refused = 0
for _ in range(5):
    response = client.post("/accounts/login/", {"login": "target@example.com", "password": "wrong"})
    refused += response.status_code == 429 or "Too many failed login attempts" in response.text
print(refused)
"""


def _database_url() -> str:
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{name}"
    params = connection.settings_dict
    return f"postgres://{params['USER']}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{name}"


def _wrong_passwords_in_another_process(redis_url: str = "") -> int:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CACHE_REDIS_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="site_config.settings", DEBUG="1", DATABASE_URL=_database_url())
    if redis_url:
        env["REDIS_URL"] = redis_url
    result = subprocess.run(
        [sys.executable, "-c", WRONG_PASSWORDS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip().splitlines()[-1])


REDIS_TEST_URL = "redis://127.0.0.1:6379/14"


def _redis_or_skip() -> str:
    redis = pytest.importorskip("redis")
    try:
        client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=0.5)
        client.flushdb()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    return REDIS_TEST_URL


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("cache", ["database", "redis"])
def test_it_counts_wrong_passwords_from_two_processes_against_one_limit(cache):
    redis_url = _redis_or_skip() if cache == "redis" else ""
    UserFactory(email="target@example.com")
    # Two server processes, each with its own memory: with a per-process cache both would allow 5 of 5.
    try:
        first = _wrong_passwords_in_another_process(redis_url)
        second = _wrong_passwords_in_another_process(redis_url)
    finally:
        if redis_url:
            _redis_or_skip()  # empties the test database again
    assert (first, second) == (0, 5)  # "5/5m/key": 10 tries, 5 allowed in all


def _login(client, email, password, ip="198.51.100.7"):
    return client.post(reverse("account_login"), {"login": email, "password": password}, REMOTE_ADDR=ip)


def test_it_locks_out_the_guesser_not_the_owner_elsewhere(client, user):
    for _ in range(5):
        assert TOO_MANY not in _login(client, user.email, "wrong").text
    assert TOO_MANY in _login(client, user.email, "correct-horse-battery").text
    response = _login(client, user.email, "correct-horse-battery", ip="203.0.113.9")
    assert response.status_code == 302
    assert client.get(reverse("account_profile")).status_code == 200


def test_it_locks_an_account_guessed_at_from_many_addresses_until_a_password_reset(client, user, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed_account": "3/h/key"}
    for n in range(3):
        assert TOO_MANY not in _login(client, user.email, "wrong", ip=f"192.0.2.{n}").text
    assert TOO_MANY in _login(client, user.email, "correct-horse-battery", ip="203.0.113.9").text

    client.post(reverse("account_reset_password"), {"email": user.email})
    link = next(word for word in mail.outbox[-1].body.split() if "/password/reset/key/" in word)
    form = client.get(link, follow=True)
    client.post(
        form.redirect_chain[-1][0],
        {"password1": "a-new-long-passphrase-42", "password2": "a-new-long-passphrase-42"},
    )
    response = _login(client, user.email, "a-new-long-passphrase-42", ip="203.0.113.9")
    assert response.status_code == 302


def test_it_clears_the_account_lock_on_a_successful_login(client, user, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed_account": "3/h/key"}
    for n in range(2):
        _login(client, user.email, "wrong", ip=f"192.0.2.{n}")
    assert _login(client, user.email, "correct-horse-battery").status_code == 302
    client.logout()
    for n in range(2):
        assert TOO_MANY not in _login(client, user.email, "wrong", ip=f"192.0.2.{n + 10}").text


def test_it_sends_the_admin_login_through_the_rate_limited_site_login(client, user):
    user.is_staff = user.is_superuser = True
    user.save()
    response = client.post("/admin/login/", {"username": user.email, "password": "wrong"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    for _ in range(5):
        _login(client, user.email, "wrong")
    # Guessing through the admin's own form is no way around the lock: it never checks a password.
    response = client.post("/admin/login/", {"username": user.email, "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 302
    assert TOO_MANY in _login(client, user.email, "correct-horse-battery").text


def test_it_takes_a_staff_user_from_the_site_login_to_the_admin(client, user):
    user.is_staff = user.is_superuser = True
    user.save()
    response = client.post(
        reverse("account_login") + "?next=/admin/",
        {"login": user.email, "password": "correct-horse-battery", "next": "/admin/"},
    )
    assert response["Location"] == "/admin/"
    assert "Site administration" in client.get("/admin/").text
