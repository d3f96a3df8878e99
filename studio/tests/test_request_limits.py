from __future__ import annotations

import pytest
from django.urls import reverse

from studio.lab.models import Style

pytestmark = pytest.mark.django_db


def test_it_refuses_a_page_request_over_the_body_limit_before_reading_it(logged_in_client, settings):
    settings.MAX_REQUEST_BYTES = 1000
    response = logged_in_client.post(
        reverse("studio:import_upload"), {"text": "name\n" + "x" * 2000}, follow=False
    )

    assert response.status_code == 413
    assert "the most this studio accepts in one request is 0 MB (MAX_REQUEST_BYTES)" in response.text
    assert "Nothing was saved" in response.text


def test_it_answers_json_for_an_api_request_over_the_body_limit(client, settings):
    settings.MAX_REQUEST_BYTES = 1000
    response = client.post(reverse("api:frames_upload_csv"), data=b"x" * 5000, content_type="text/csv")

    assert response.status_code == 413
    assert "MAX_REQUEST_BYTES" in response.json()["error"]


def test_it_lets_a_request_within_the_limit_through(logged_in_client, settings):
    settings.MAX_REQUEST_BYTES = 100_000
    response = logged_in_client.get(reverse("studio:character_list"))

    assert response.status_code == 200


def test_the_style_lab_refuses_an_oversized_file_by_its_size_and_stores_nothing(
    logged_in_client, user, settings
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.LAB_MAX_UPLOAD_BYTES = 1024
    style = Style.objects.create(owner=user, name="Inks")
    big = SimpleUploadedFile("big.png", b"\x89PNG" + b"0" * 4096, content_type="image/png")

    response = logged_in_client.post(reverse("studio:style_upload", args=[style.pk]), {"images": [big]})

    assert response.status_code == 400
    assert "big.png" in response.text and "larger than 0 MB" in response.text
    assert not style.images.exists()
