"""The JSON API answers JSON for every error; pages keep their HTML error pages."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import Client

from accounts.models import ApiToken
from studio.frames import ingest as frames
from studio.frames.tests.frames_helpers import pixel_csv


@pytest.fixture
def api(user):
    return Client(HTTP_AUTHORIZATION=f"Bearer {ApiToken.issue(user)[1]}", raise_request_exception=False)


def test_it_answers_an_unknown_api_url_with_json_404(api):
    response = api.get("/api/no-such-endpoint/")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found."}


def test_it_answers_a_wrong_method_with_json_405(api):
    response = api.delete("/api/frames/")
    assert response.status_code == 405
    assert "DELETE" in response.json()["error"]


def test_it_answers_a_body_over_the_limit_with_json_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post(
        "/api/frames/upload-csv/",
        "name=x&data=" + "7" * 5000,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert response.json() == {"error": "The request body is too large."}


def test_it_answers_a_crash_such_as_a_dropped_database_connection_with_json_500(api, user, monkeypatch):
    frames.ingest_csv(user, "well-1", pixel_csv([(1, [0, 0])]), width=2)

    def dropped(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("studio.frames.api.dataset_json", dropped)
    response = api.get("/api/frames/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert "Something went wrong on the server" in response.json()["error"]


def test_it_keeps_html_error_pages_for_the_site(client):
    response = client.get("/studio/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
