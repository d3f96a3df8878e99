from __future__ import annotations

import io
import re

import pytest
from django.urls import reverse
from PIL import Image

from accounts.models import ApiToken
from studio.frames import ingest
from studio.frames.models import DepthDataset
from studio.frames.tests.frames_helpers import pixel_csv, ramp_csv, upload

LIST_URL = "/studio/frames/"
UPLOAD_URL = "/studio/frames/upload/"


@pytest.fixture
def dataset(user):
    return ingest.ingest_csv(user, "well-1", ramp_csv(rows=40, width=20, start=10.0, step=0.5)).dataset


def detail_url(name: str = "well-1") -> str:
    return reverse("studio:frames_dataset", args=[name])


# Dataset list and upload ---------------------------------------------------------------------------------


def test_it_requires_login(client):
    response = client.get(LIST_URL)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_it_lists_only_the_users_datasets_next_to_a_labelled_upload_form(
    logged_in_client, dataset, other_user
):
    ingest.ingest_csv(other_user, "theirs", ramp_csv())

    page = logged_in_client.get(LIST_URL).content.decode()

    assert 'href="/studio/frames/well-1/"' in page
    assert "theirs" not in page
    for field in ("dataset", "file", "width"):
        assert f'for="id_{field}"' in page
    assert 'hx-post="/studio/frames/upload/"' in page
    assert 'action="/studio/frames/upload/"' in page  # the non-JS fallback
    assert "<progress" in page


def test_it_uploads_without_js_and_redirects_to_the_dataset(logged_in_client, user):
    response = logged_in_client.post(UPLOAD_URL, {"dataset": "core-9", "file": upload(ramp_csv(width=200))})

    assert response.status_code == 302
    assert response["Location"] == detail_url("core-9")
    page = logged_in_client.get(response["Location"]).content.decode()
    assert "Uploaded core-9: 10 frames, 150 pixels wide." in page
    assert DepthDataset.objects.get(owner=user).row_count == 10


def test_it_uploads_through_htmx_and_tells_the_list_to_refresh(logged_in_client, htmx_headers):
    response = logged_in_client.post(
        UPLOAD_URL, {"dataset": "core-9", "file": upload(ramp_csv())}, **htmx_headers
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "framesChanged" in response["HX-Trigger"]
    assert "Uploaded core-9: 10 frames" in page
    assert 'href="/studio/frames/core-9/"' in page
    assert "<html" not in page


def test_it_refreshes_the_dataset_list_partial(logged_in_client, htmx_headers, dataset):
    page = logged_in_client.get(LIST_URL, **htmx_headers).content.decode()

    assert page.lstrip().startswith('<div id="frames-datasets"')
    assert "well-1" in page


@pytest.mark.parametrize("htmx", [False, True])
def test_it_shows_a_csv_error_with_its_line_and_stores_nothing(logged_in_client, htmx):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    data = ramp_csv(rows=3) + b"9,1,2,300,4\n"

    response = logged_in_client.post(UPLOAD_URL, {"dataset": "bad", "file": upload(data)}, **headers)

    assert response.status_code == (200 if htmx else 400)  # HTMX swaps only 2xx answers
    assert "Line 5: col3 value 300 is outside 0-255." in response.content.decode()
    assert not DepthDataset.objects.exists()


def test_it_shows_a_missing_file_error(logged_in_client):
    response = logged_in_client.post(UPLOAD_URL, {"dataset": "bad"})

    assert "This field is required." in response.content.decode()


# Viewer --------------------------------------------------------------------------------------------------


def test_it_shows_a_dataset_with_labelled_controls_and_a_depth_axis(logged_in_client, dataset):
    page = logged_in_client.get(detail_url()).content.decode()

    for label in ('for="frames-depth-min"', 'for="frames-depth-max"', "<legend>Diverging</legend>"):
        assert label in page
    assert '<input type="radio" name="colormap" value="magma">' in page
    assert 'method="get" action="/studio/frames/well-1/"' in page  # the non-JS fallback of hx-get
    assert "/studio/frames/well-1/plot.png?depth_min=10&amp;depth_max=29.5&amp;colormap=viridis" in page
    assert ">Depth<" in page
    assert "40 frames, depth 10 (top) to 29.5 (bottom)" in page


def _image_attributes(page: str) -> dict[str, str]:
    tag = page.split('<img id="frames-image"', 1)[1].split(">", 1)[0]
    return dict(re.findall(r'([a-z-]+)="([^"]*)"', tag))


@pytest.mark.parametrize("params", [{}, {"depth_min": 12, "depth_max": 13}])
def test_it_draws_the_image_at_the_aspect_it_is_shown_at(logged_in_client, dataset, params):
    page = logged_in_client.get(detail_url(), params).content.decode()

    attributes = _image_attributes(page)
    shown_width, shown_height = int(attributes["width"]), int(attributes["height"])
    assert (shown_width, shown_height) == (dataset.width, 600)  # the dataset's width, the plot's height
    assert f"width: {shown_width}px" in attributes["style"]
    assert f"--plot-height: {shown_height}px" in page  # the plot box (frames.css) is as high as the image
    image = logged_in_client.get(attributes["src"].replace("&amp;", "&"))
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(image.content)) as png:
        # 40 (or 3) frames stretched to 600 lines: drawn that way, not left for the browser to distort.
        assert png.size == (shown_width, shown_height)


def test_it_draws_more_frames_than_plot_lines_at_a_finer_scale(logged_in_client, user):
    ingest.ingest_csv(user, "deep", ramp_csv(rows=1300, width=5))

    page = logged_in_client.get(detail_url("deep")).content.decode()

    attributes = _image_attributes(page)
    with Image.open(io.BytesIO(logged_in_client.get(attributes["src"].replace("&amp;", "&")).content)) as png:
        assert png.size == (150 * 3, 600 * 3)  # every one of the 1,300 frames has a line of its own


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"depth_min": 20, "depth_max": 12}, 400, "Depth from (20) must not be greater than Depth to (12)."),
        ({"colormap": "nope"}, 400, "Unknown colormap 'nope'."),
        ({"depth_min": 10.1, "depth_max": 10.2}, 404, "No frames in this depth range."),
    ],
)
def test_it_answers_a_bad_image_request_with_a_message(logged_in_client, dataset, params, status, message):
    response = logged_in_client.get(reverse("studio:frames_plot", args=["well-1"]), params)

    assert response.status_code == status
    assert response["Content-Type"].startswith("text/plain")
    assert message in response.content.decode()


def test_it_draws_only_the_users_own_datasets(client, logged_in_client, other_user):
    ingest.ingest_csv(other_user, "theirs", pixel_csv([(1, [1])]))
    url = reverse("studio:frames_plot", args=["theirs"])

    assert logged_in_client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


def test_it_labels_the_depth_axis_with_round_values(logged_in_client, dataset):
    page = logged_in_client.get(detail_url()).content.decode()

    ticks = [tick.split("<", 1)[0] for tick in page.split('class="frames-tick" style="top: ')[1:]]
    depth_ticks = [tick.split(">", 1)[1] for tick in ticks[:4]]
    assert depth_ticks == ["10", "15", "20", "25"]  # depths 10 to 29.5: steps of 5, not 13.9, 17.8...
    assert ticks[0].startswith("1.25%")  # the centre of the first of 40 rows
    assert [tick.split(">", 1)[1] for tick in ticks[4:]] == ["0", "50", "100", "150", "200", "250"]


def test_it_shows_a_colour_bar_of_the_chosen_colormap(logged_in_client, dataset):
    viridis, magma = (
        logged_in_client.get(detail_url(), {"colormap": name}).content.decode()
        for name in ("viridis", "magma")
    )

    assert 'aria-label="Colour bar: pixel level 0 to 255 in magma"' in magma
    colour_bar = magma.split('class="frames-colorbar"', 1)[1].split('src="', 1)[1].split('"', 1)[0]
    assert colour_bar.startswith("data:image/png;base64,")
    assert colour_bar not in viridis


def test_it_groups_the_colormaps_as_matplotlib_does_with_a_swatch_each(logged_in_client, dataset):
    page = logged_in_client.get(detail_url(), {"colormap": "RdBu_r"}).content.decode()

    groups = [part.split("</legend>", 1) for part in page.split("<legend>")[1:]]
    names = {label: body.split("</fieldset>", 1)[0] for label, body in groups}
    assert list(names) == [
        "Perceptually uniform sequential", "Sequential", "Sequential (2)", "Diverging", "Cyclic",
        "Qualitative", "Miscellaneous",
    ]  # fmt: skip
    assert 'value="RdBu_r" checked>' in names["Diverging"]
    assert 'value="tab10"' in names["Qualitative"] and 'value="twilight"' in names["Cyclic"]
    assert page.count('name="colormap"') == 182
    assert 'class="visually-hidden">Colormap: </span><span class="cmap-swatch"' in page
    assert '<span class="colormap-name">RdBu_r</span>' in page
    sprite_url = page.split("--cmap-sprite: url('", 1)[1].split("')", 1)[0]
    assert sprite_url.startswith(reverse("studio:frames_colormap_swatches") + "?v=")  # new sprite, new URL
    sprite = logged_in_client.get(sprite_url)
    assert sprite["Content-Type"] == "image/png"
    assert "max-age=86400" in sprite["Cache-Control"]
    with Image.open(io.BytesIO(sprite.content)) as image:
        assert image.size == (64, 182)


def test_it_opens_on_as_many_frames_as_the_range_limit_allows(logged_in_client, dataset, settings):
    settings.FRAMES_MAX_RANGE_ROWS = 10

    page = logged_in_client.get(detail_url()).content.decode()

    assert "10 frames, depth 10 (top) to 14.5 (bottom)" in page


def test_it_rerenders_the_image_through_htmx_when_the_colormap_changes(
    logged_in_client, htmx_headers, dataset
):
    params = {"depth_min": "12", "depth_max": "13", "colormap": "viridis"}
    before = logged_in_client.get(detail_url(), params, **htmx_headers).content.decode()
    after = logged_in_client.get(
        detail_url(), {**params, "colormap": "magma"}, **htmx_headers
    ).content.decode()

    assert before.lstrip().startswith('<div id="frames-view"')
    assert "colormap=viridis" in before
    assert "colormap=magma" in after
    assert "3 frames, depth 12 (top) to 13 (bottom)" in after
    image_src = after.split('src="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    viridis_src = image_src.replace("magma", "viridis")
    magma_png, viridis_png = (logged_in_client.get(url) for url in (image_src, viridis_src))
    assert magma_png.status_code == viridis_png.status_code == 200
    assert magma_png.content != viridis_png.content


def test_it_shows_range_errors_on_the_page(logged_in_client, dataset, settings):
    settings.FRAMES_MAX_RANGE_ROWS = 5

    page = logged_in_client.get(detail_url(), {"depth_min": 10, "depth_max": 20}).content.decode()

    assert "hold 21 frames; at most 5 can be requested at once. Narrow Depth from and Depth to." in page


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"depth_min": 20, "depth_max": 12}, "Depth from (20) must not be greater than Depth to (12)."),
        ({"depth_min": "deep"}, "Depth from must be a number, got &#x27;deep&#x27;."),
        ({"depth_max": "inf"}, "Depth to must be a finite number"),
    ],
)
def test_it_names_the_fields_by_their_labels_in_messages(logged_in_client, dataset, params, message):
    page = logged_in_client.get(detail_url(), params).content.decode()

    assert message in page
    assert "depth_min (" not in page and "depth_max must" not in page


def test_it_shows_an_unknown_colormap_as_an_error_on_the_page(logged_in_client, dataset):
    response = logged_in_client.get(detail_url(), {"colormap": "nope"})

    assert response.status_code == 200
    assert (
        "Unknown colormap &#x27;nope&#x27;. Choose one from the Colormap list." in response.content.decode()
    )


def test_it_says_when_a_range_has_no_frames(logged_in_client, dataset):
    page = logged_in_client.get(detail_url(), {"depth_min": 10.1, "depth_max": 10.2}).content.decode()

    assert "No frames between depth 10.1 and 10.2." in page


def test_it_hides_another_users_dataset(logged_in_client, other_user):
    ingest.ingest_csv(other_user, "theirs", pixel_csv([(1, [1])]))

    assert logged_in_client.get(detail_url("theirs")).status_code == 404
    assert logged_in_client.post(reverse("studio:frames_delete", args=["theirs"])).status_code == 404


def test_it_deletes_a_dataset(logged_in_client, dataset):
    response = logged_in_client.post(reverse("studio:frames_delete", args=["well-1"]))

    assert response["Location"] == LIST_URL
    assert not DepthDataset.objects.exists()


# API token page ------------------------------------------------------------------------------------------


def test_it_creates_a_token_and_shows_it_once(reauthenticated_client, user, dataset):
    logged_in_client = reauthenticated_client
    url = reverse("account_api_token")
    assert "You have no API token." in logged_in_client.get(url).content.decode()

    created = logged_in_client.post(url, {"action": "create"}, follow=True).content.decode()
    raw = created.split('id="api-token-value"', 1)[1].split('value="', 1)[1].split('"', 1)[0]

    assert raw.startswith("dali_")
    assert raw not in logged_in_client.get(url).content.decode()
    assert ApiToken.objects.get(user=user).key_hash == ApiToken.hash(raw)
    api_response = logged_in_client.get(
        reverse("api:frames_images", args=["well-1"]), HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert api_response.status_code == 200


def test_it_revokes_a_token(reauthenticated_client, user):
    logged_in_client = reauthenticated_client
    ApiToken.issue(user)

    response = logged_in_client.post(reverse("account_api_token"), {"action": "revoke"})

    assert response.status_code == 302
    assert not ApiToken.objects.exists()
