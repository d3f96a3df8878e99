from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from accounts.models import ApiToken
from studio.frames import ingest
from studio.frames.models import DepthDataset
from studio.frames.tests.frames_helpers import pixel_csv, ramp_csv, upload

UPLOAD_URL = "/api/frames/upload-csv/"


@pytest.fixture
def token(user):
    return ApiToken.issue(user)[1]


@pytest.fixture
def api(token):
    """A client that authenticates every request with the user's bearer token (and enforces CSRF)."""
    return Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def dataset(user):
    # Levels 0, 128 and 255 at depths 1, 2, 3; width kept at 2 so colours are exact.
    data = pixel_csv([(1, [0, 0]), (2, [128, 128]), (3, [255, 255])])
    return ingest.ingest_csv(user, "well-1", data, width=2).dataset


def images_url(name: str = "well-1") -> str:
    return reverse("api:frames_images", args=[name])


def decode(png_base64: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(png_base64))).convert("RGB"))


# Authentication ------------------------------------------------------------------------------------------


def test_it_refuses_a_request_without_credentials(client, dataset):
    response = client.get(images_url())

    assert response.status_code == 401
    assert "Authentication required" in response.json()["error"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_refuses_a_wrong_token(client, dataset):
    response = client.get(images_url(), HTTP_AUTHORIZATION="Bearer dali_not-the-token")

    assert response.status_code == 401
    assert response.json() == {"error": "The API token is not valid."}


def test_it_refuses_a_malformed_authorization_header_even_with_a_session(logged_in_client, dataset):
    response = logged_in_client.get(images_url(), HTTP_AUTHORIZATION="Token abc")

    assert response.status_code == 401
    assert "Bearer <token>" in response.json()["error"]


def test_it_refuses_a_token_of_an_inactive_user(user, token, dataset):
    user.is_active = False
    user.save()

    response = Client().get(images_url(), HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 401


def test_it_answers_404_for_another_users_dataset(other_user, api):
    ingest.ingest_csv(other_user, "theirs", ramp_csv())

    response = api.get(images_url("theirs"))

    assert response.status_code == 404
    assert response.json() == {"error": "Not found."}


def test_it_stops_accepting_a_regenerated_token(user, token, dataset):
    ApiToken.issue(user)

    assert Client().get(images_url(), HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_it_records_when_a_token_was_last_used(user, api, dataset):
    api.get(images_url())

    assert ApiToken.objects.get(user=user).last_used_at is not None


def test_it_stores_only_a_hash_of_the_token(user, token):
    stored = ApiToken.objects.get(user=user)

    assert token not in (stored.key_hash, stored.hint)
    assert stored.key_hash == ApiToken.hash(token)


def test_it_requires_csrf_for_a_session_upload(user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)

    response = browser.post(UPLOAD_URL, {"dataset": "a", "file": upload(ramp_csv())})

    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]
    assert not DepthDataset.objects.exists()


def test_it_accepts_a_session_upload_with_the_csrf_token(logged_in_client):
    logged_in_client.get(reverse("studio:frames_list"))  # sets the CSRF cookie, as a page visit would
    csrf = logged_in_client.cookies["csrftoken"].value
    browser = Client(enforce_csrf_checks=True)
    browser.cookies = logged_in_client.cookies

    response = browser.post(UPLOAD_URL, {"dataset": "a", "file": upload(ramp_csv())}, HTTP_X_CSRFTOKEN=csrf)

    assert response.status_code == 201


def test_it_answers_a_wrong_method_with_405(api):
    response = api.get(UPLOAD_URL)

    assert response.status_code == 405
    assert response["Allow"] == "POST"


# Upload --------------------------------------------------------------------------------------------------


def test_it_uploads_a_csv_with_a_token(api, user):
    response = api.post(UPLOAD_URL, {"dataset": "well-7", "file": upload(ramp_csv(rows=12, width=200))})

    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["rows"], body["width"], body["source_width"]) == ("well-7", 12, 150, 200)
    assert (body["depth_min"], body["depth_max"], body["replaced"]) == (1.0, 12.0, False)
    assert body["images_url"] == images_url("well-7")
    assert DepthDataset.objects.get(owner=user).name == "well-7"


def test_it_replaces_a_dataset_on_a_second_upload(api, dataset):
    response = api.post(UPLOAD_URL, {"dataset": "well-1", "file": upload(ramp_csv(rows=4)), "width": "3"})

    assert response.status_code == 200
    assert response.json()["replaced"] is True
    assert response.json()["width"] == 3
    assert DepthDataset.objects.get().row_count == 4


def test_it_reports_a_bad_row_with_its_line(api):
    response = api.post(UPLOAD_URL, {"dataset": "bad", "file": upload(ramp_csv(rows=3) + b"9,1,2,x,4\n")})

    assert response.status_code == 400
    assert response.json() == {"error": "Line 5: col3 value 'x' is not a number.", "line": 5}
    assert not DepthDataset.objects.exists()


def test_it_reports_missing_fields(api):
    response = api.post(UPLOAD_URL, {"dataset": "no-file"})

    assert response.status_code == 400
    assert response.json()["error"] == "file: This field is required."


def test_it_reports_a_bad_dataset_name(api):
    response = api.post(UPLOAD_URL, {"dataset": "a/b", "file": upload(ramp_csv())})

    assert response.status_code == 400
    assert response.json()["error"].startswith("dataset: 1-100 letters")


def test_it_refuses_a_file_over_the_size_limit_with_413(api, settings):
    settings.FRAMES_MAX_UPLOAD_BYTES = 50

    response = api.post(UPLOAD_URL, {"dataset": "big", "file": upload(ramp_csv(rows=20))})

    assert response.status_code == 413
    assert "limit is 50 bytes" in response.json()["error"]


# Images --------------------------------------------------------------------------------------------------


def test_it_returns_each_frame_and_the_stacked_image_as_colormapped_pngs(api, dataset):
    response = api.get(images_url(), {"depth_min": 1, "depth_max": 3, "colormap": "gray"})

    assert response.status_code == 200
    body = response.json()
    assert (body["dataset"], body["colormap"], body["count"], body["width"]) == ("well-1", "gray", 3, 2)
    assert [frame["depth"] for frame in body["frames"]] == [1.0, 2.0, 3.0]
    assert [decode(frame["png"]).tolist() for frame in body["frames"]] == [
        [[[0, 0, 0], [0, 0, 0]]],
        [[[128, 128, 128], [128, 128, 128]]],
        [[[255, 255, 255], [255, 255, 255]]],
    ]
    assert (body["image"]["width"], body["image"]["height"]) == (2, 3)
    assert decode(body["image"]["png"])[:, 0].tolist() == [[0, 0, 0], [128, 128, 128], [255, 255, 255]]


def test_it_applies_viridis_by_default_and_includes_range_boundaries(api, dataset):
    body = api.get(images_url(), {"depth_min": 2, "depth_max": 3}).json()

    assert body["colormap"] == "viridis"
    assert [frame["depth"] for frame in body["frames"]] == [2.0, 3.0]
    assert decode(body["frames"][1]["png"])[0, 0].tolist() == [253, 231, 37]


def test_it_returns_an_empty_list_for_a_range_without_frames(api, dataset):
    body = api.get(images_url(), {"depth_min": 1.2, "depth_max": 1.8}).json()

    assert (body["count"], body["frames"], body["image"]) == (0, [], None)


def test_it_answers_an_unknown_colormap_with_400_listing_valid_names(api, dataset):
    response = api.get(images_url(), {"colormap": "rainbowz"})

    assert response.status_code == 400
    assert "Unknown colormap 'rainbowz'" in response.json()["error"]
    assert {"viridis", "magma_r", "gray"} <= set(response.json()["valid_colormaps"])


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"depth_min": "deep"}, "depth_min must be a number"),
        ({"depth_max": "inf"}, "depth_max must be a finite number"),
        ({"depth_min": 3, "depth_max": 1}, "must not be greater than depth_max"),
    ],
)
def test_it_answers_bad_range_parameters_with_400(api, dataset, params, fragment):
    response = api.get(images_url(), params)

    assert response.status_code == 400
    assert fragment in response.json()["error"]


def test_it_refuses_a_range_over_the_row_limit(api, dataset, settings):
    settings.FRAMES_MAX_RANGE_ROWS = 2

    response = api.get(images_url(), {"depth_min": 1, "depth_max": 3})

    assert response.status_code == 400
    assert "hold 3 frames; at most 2" in response.json()["error"]


def test_it_serves_the_stacked_image_as_a_png_for_img_tags(logged_in_client, dataset):
    url = reverse("api:frames_image_png", args=["well-1"])

    response = logged_in_client.get(url, {"depth_min": 2, "depth_max": 3, "colormap": "gray_r"})

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    image = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))
    assert image[:, 0].tolist() == [[127, 127, 127], [0, 0, 0]]


def test_it_answers_404_for_a_png_of_an_empty_range(logged_in_client, dataset):
    url = reverse("api:frames_image_png", args=["well-1"])

    response = logged_in_client.get(url, {"depth_min": 5, "depth_max": 6})

    assert response.status_code == 404
    assert response.json() == {"error": "No frames in this depth range."}


def test_it_lists_the_users_datasets(api, dataset, other_user):
    ingest.ingest_csv(other_user, "theirs", ramp_csv())

    response = api.get(reverse("api:frames_datasets"))

    assert [item["name"] for item in response.json()["datasets"]] == ["well-1"]
