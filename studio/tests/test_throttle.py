"""The per-user throttles of the expensive endpoints (studio/throttle.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken
from studio.frames import ingest as frames
from studio.frames.tests.frames_helpers import pixel_csv
from studio.tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def limits(settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "preview": 3, "pattern": 2, "frames_render": 2}
    return settings.THROTTLE_RATES


def _preview(client, **headers):
    return client.post(reverse("studio:character_preview"), {"name": "Orla"}, **headers)


def test_it_answers_the_live_preview_past_its_limit_with_a_429_partial(
    logged_in_client, limits, htmx_headers
):
    for _ in range(3):
        assert _preview(logged_in_client, **htmx_headers).status_code == 200
    response = _preview(logged_in_client, **htmx_headers)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Too many previews: the limit is 3 a minute." in response.text
    assert "<html" not in response.text  # a partial for HTMX, shown as a toast


def test_it_counts_each_user_apart(logged_in_client, limits):
    for _ in range(4):
        _preview(logged_in_client)
    assert _preview(logged_in_client).status_code == 429
    other = Client()
    other.force_login(UserFactory())
    assert _preview(other).status_code == 200


def test_it_answers_a_page_request_with_a_page_in_the_sites_layout(logged_in_client, user, limits):
    url = reverse("studio:pattern_preview") + "?kind=noise&width=512&height=512&seed=1"
    assert logged_in_client.get(url).status_code == 200
    assert logged_in_client.get(url).status_code == 200
    response = logged_in_client.get(url)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "429.html" in [template.name for template in response.templates]
    html = response.text
    assert 'id="error-title">Too many requests</h1>' in html
    assert "data-throttled>Too many pattern renders: the limit is 2 a minute." in html
    assert 'aria-label="Main navigation"' in html and "app.css" in html  # the layout, with the user's menu
    assert user.short_name in html
    assert f'href="{url.replace("&", "&amp;")}">Try again</a>' in html


def test_it_answers_the_api_past_its_limit_with_json(user, limits):
    frames.ingest_csv(user, "well-1", pixel_csv([(1, [0, 0]), (2, [128, 128])]), width=2)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {ApiToken.issue(user)[1]}")
    url = reverse("api:frames_image_png", args=["well-1"])
    assert [api.get(url).status_code for _ in range(2)] == [200, 200]
    response = api.get(reverse("api:frames_images", args=["well-1"]))
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"].startswith("Too many depth-frame renders: the limit is 2 a minute.")
    assert response.json()["retry_after"] == int(response["Retry-After"])


def test_it_counts_only_the_posts_of_a_form_page(logged_in_client, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "generate": 1}
    for _ in range(3):
        assert logged_in_client.get(reverse("studio:quick_generate")).status_code == 200
    logged_in_client.post(reverse("studio:quick_generate"), {})
    assert logged_in_client.post(reverse("studio:quick_generate"), {}).status_code == 429


def test_it_can_be_switched_off(logged_in_client, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "preview": 0}
    assert all(_preview(logged_in_client).status_code == 200 for _ in range(5))


COUNT_IN_ANOTHER_PROCESS = """
import django, sys
django.setup()
from django.test import RequestFactory
from django.contrib.auth import get_user_model
from studio import throttle

request = RequestFactory().post("/studio/characters/preview/")
request.user = get_user_model().objects.get(pk=int(sys.argv[1]))
print(sum(throttle.hit(request, "preview") == 0 for _ in range(3)))
"""


def _database_url() -> str:
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{name}"
    params = connection.settings_dict
    return f"postgres://{params['USER']}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{name}"


@pytest.mark.django_db(transaction=True)
def test_it_holds_across_processes(client, limits):
    user = UserFactory()
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CACHE_REDIS_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="site_config.settings", DEBUG="1", DATABASE_URL=_database_url())
    env["THROTTLE_PREVIEW_PER_MINUTE"] = "3"
    result = subprocess.run(
        [sys.executable, "-c", COUNT_IN_ANOTHER_PROCESS, str(user.pk)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"
    client.force_login(user)
    assert _preview(client).status_code == 429  # the other process used this minute's 3
