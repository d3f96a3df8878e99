from __future__ import annotations

import importlib.util
import io
from datetime import timedelta

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from studio import lab
from studio.lab import patterns, styles
from studio.lab import tasks as lab_tasks
from studio.lab.models import Style, StyleModel
from studio.portraits.models import Portrait

pytestmark = pytest.mark.django_db


def png(colour: tuple[int, int, int] = (200, 40, 40), size: tuple[int, int] = (90, 60)) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, (20, 20, 20))
    image.paste(Image.new("RGB", (size[0] // 2, size[1] // 2), colour), (size[0] // 4, size[1] // 4))
    image.save(buffer, "PNG")
    return buffer.getvalue()


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/png")


@pytest.fixture
def style(user):
    return Style.objects.create(owner=user, name="Inks")


@pytest.fixture
def filled_style(style):
    colours = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (200, 200, 40), (40, 200, 200), (200, 40, 200)]
    styles.add_uploads(style, [(f"sketch-{index}.png", png(colour)) for index, colour in enumerate(colours)])
    return style


@pytest.fixture
def without_torch(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a, **k: None if name == "torch" else real_find_spec(name, *a, **k),
    )


def test_it_creates_a_style_and_asks_for_images(logged_in_client, user) -> None:
    response = logged_in_client.post(reverse("studio:style_create"), {"name": "Inks"}, follow=True)

    html = response.content.decode()
    assert Style.objects.get(owner=user).name == "Inks"
    assert "Created the style Inks. Add 5 to 200 images to train it." in html
    assert "0 of 5–200" in html


def test_it_refuses_a_second_style_with_the_same_name(logged_in_client, style) -> None:
    response = logged_in_client.post(reverse("studio:style_create"), {"name": "Inks"})

    assert response.status_code == 400
    assert "You already have a style called &quot;Inks&quot;." in response.content.decode()


def test_it_stores_uploads_as_128_pixel_squares(logged_in_client, style) -> None:
    response = logged_in_client.post(
        reverse("studio:style_upload", args=[style.pk]),
        {"images": [upload("a.png", png()), upload("b.png", png(size=(300, 500)))]},
        follow=True,
    )

    assert "Added 2 images to Inks." in response.content.decode()
    for item in style.images.all():
        with Image.open(item.image) as image:
            assert image.size == (128, 128) and image.mode == "RGB"
    image_response = logged_in_client.get(reverse("studio:style_image", args=[style.images.first().pk]))
    assert image_response["Content-Type"] == "image/png"


def test_it_keeps_the_good_files_and_names_the_unreadable_one(logged_in_client, style) -> None:
    response = logged_in_client.post(
        reverse("studio:style_upload", args=[style.pk]),
        {"images": [upload("good.png", png()), upload("notes.png", b"hello, not a picture")]},
        follow=True,
    )

    page = response.content.decode()
    assert "Added 1 image to" in page
    assert "Skipped: &quot;notes.png&quot; is not an image the lab can read" in page
    assert list(style.images.values_list("original_name", flat=True)) == ["good.png"]


def test_it_refuses_an_upload_where_no_file_is_an_image(logged_in_client, style) -> None:
    response = logged_in_client.post(
        reverse("studio:style_upload", args=[style.pk]),
        {"images": [upload("notes.png", b"hello, not a picture")]},
    )

    assert response.status_code == 400
    assert "&quot;notes.png&quot; is not an image the lab can read" in response.content.decode()
    assert not style.images.exists()


def test_it_refuses_images_with_too_many_pixels_before_decoding_them(
    logged_in_client, style, settings
) -> None:
    settings.LAB_MAX_IMAGE_PIXELS = 1000

    response = logged_in_client.post(
        reverse("studio:style_upload", args=[style.pk]),
        {"images": [upload("huge.png", png(size=(100, 100)))]},
    )

    assert "is 100×100 pixels; the most the lab reads is 1,000." in response.content.decode()
    assert not style.images.exists()


def test_it_adds_the_users_own_portraits_to_a_style(logged_in_client, user, other_user, style) -> None:
    mine = patterns.save_pattern(user, patterns.PatternOptions(kind="spiral", width=120, height=120))
    theirs = patterns.save_pattern(other_user, patterns.PatternOptions(kind="noise", width=120, height=120))

    response = logged_in_client.post(
        reverse("studio:style_add_portraits", args=[style.pk]),
        {"portrait": [mine.pk, theirs.pk]},
        follow=True,
    )

    assert "Added 1 portrait to Inks." in response.content.decode()
    assert [item.source_portrait_id for item in style.images.all()] == [mine.pk]


def test_it_hides_another_users_style(logged_in_client, other_user) -> None:
    theirs = Style.objects.create(owner=other_user, name="Theirs")

    assert logged_in_client.get(reverse("studio:style_detail", args=[theirs.pk])).status_code == 404
    assert logged_in_client.post(reverse("studio:style_train", args=[theirs.pk]), {}).status_code == 404


def test_it_explains_how_to_enable_training_when_torch_is_missing(
    logged_in_client, filled_style, without_torch
) -> None:
    page = logged_in_client.get(reverse("studio:style_detail", args=[filled_style.pk])).content.decode()
    response = logged_in_client.post(
        reverse("studio:style_train", args=[filled_style.pk]),
        {"method": "vae", "image_size": 32, "epochs": 2, "seed": 0},
        follow=True,
    )

    assert "pip install torch==2.13.0" in page
    assert "PyTorch is not installed" in response.content.decode()
    assert not StyleModel.objects.exists()


def test_it_needs_five_images_to_train(logged_in_client, style) -> None:
    pytest.importorskip("torch")
    styles.add_uploads(style, [("one.png", png())])

    response = logged_in_client.post(
        reverse("studio:style_train", args=[style.pk]),
        {"method": "vae", "image_size": 32, "epochs": 2, "seed": 0},
        follow=True,
    )

    assert "A style needs at least 5 images to train; Inks has 1." in response.content.decode()


def test_it_cancels_a_queued_training_run_at_once(logged_in_client, user, filled_style) -> None:
    run = StyleModel.objects.create(owner=user, style=filled_style, image_size=32, epochs=2)

    response = logged_in_client.post(reverse("studio:style_model_cancel", args=[run.pk]), follow=True)

    run.refresh_from_db()
    assert run.status == StyleModel.Status.CANCELLED
    assert "Cancelled." in response.content.decode()


def test_it_latent_maps_an_empty_style_with_an_empty_state(logged_in_client, style) -> None:
    html = logged_in_client.get(reverse("studio:style_latent_map", args=[style.pk])).content.decode()

    assert "No images yet" in html


# With the lab extra installed.


@pytest.fixture
def trained(logged_in_client, filled_style):
    pytest.importorskip("torch")
    response = logged_in_client.post(
        reverse("studio:style_train", args=[filled_style.pk]),
        {"method": "vae", "image_size": 32, "epochs": 2, "seed": 3},
    )
    run = StyleModel.objects.get(style=filled_style)
    assert response["Location"] == run.get_absolute_url()
    assert lab_tasks.run_training(run.pk) == "succeeded"
    run.refresh_from_db()
    return run


def test_it_trains_a_style_model_and_keeps_its_weights_and_metadata(logged_in_client, trained) -> None:
    from studio.lab.nets import load_bytes

    html = logged_in_client.get(trained.get_absolute_url()).content.decode()

    assert trained.status == StyleModel.Status.SUCCEEDED and trained.epoch == 2 and len(trained.losses) == 2
    assert trained.final_loss == pytest.approx(trained.losses[-1], rel=1e-4)
    with trained.weights.open("rb") as file:
        _net, metadata = load_bytes(file.read())
    assert metadata["method"] == "vae" and metadata["epochs"] == 2 and metadata["images"] == 6
    assert "Final loss" in html and "<polyline" in html and "Epoch 2 of 2" in html


def test_it_shows_live_progress_while_training_and_refreshes_when_done(
    logged_in_client, user, filled_style, htmx_headers
) -> None:
    run = StyleModel.objects.create(
        owner=user,
        style=filled_style,
        status=StyleModel.Status.RUNNING,
        epoch=3,
        epochs=10,
        losses=[3, 2, 1.5],
    )

    polling = logged_in_client.get(run.get_absolute_url(), **htmx_headers)
    StyleModel.objects.filter(pk=run.pk).update(status=StyleModel.Status.SUCCEEDED)
    finished = logged_in_client.get(run.get_absolute_url(), **htmx_headers)

    html = polling.content.decode()
    assert html.strip().startswith('<section id="training-progress"') and 'hx-trigger="every 1s"' in html
    assert "Epoch 3 of 10" in html and 'aria-valuenow="30"' in html and "<polyline" in html
    assert "HX-Refresh" not in polling and finished["HX-Refresh"] == "true"


def test_it_stops_a_running_training_after_the_epoch_when_cancelled(
    logged_in_client, user, filled_style
) -> None:
    pytest.importorskip("torch")
    run = StyleModel.objects.create(owner=user, style=filled_style, image_size=32, epochs=5)
    StyleModel.objects.filter(pk=run.pk).update(status=StyleModel.Status.RUNNING)

    logged_in_client.post(reverse("studio:style_model_cancel", args=[run.pk]))
    StyleModel.objects.filter(pk=run.pk).update(status=StyleModel.Status.QUEUED)  # let the worker claim it
    outcome = lab_tasks.run_training(run.pk)

    run.refresh_from_db()
    assert outcome == "cancelled" and run.status == StyleModel.Status.CANCELLED and run.epoch == 1
    assert not run.weights


def test_it_generates_artworks_with_their_latent_vectors(logged_in_client, user, trained) -> None:
    response = logged_in_client.post(
        reverse("studio:style_generate", args=[trained.pk]),
        {"count": 3, "creativity": 0.5, "seed": 9},
        follow=True,
    )

    made = Portrait.objects.filter(owner=user, provider="style")
    assert made.count() == 3
    first = made.order_by("pk").first()
    assert len(first.parameters["latent"]) == styles.LATENT_DIM and first.parameters["creativity"] == 0.5
    assert first.parameters["style_model"] == trained.pk and (first.width, first.height) == (256, 256)
    html = response.content.decode()
    assert "Generated 3 images in the Inks style." in html and 'id="comparison"' in html
    gallery = logged_in_client.get(reverse("studio:my_gallery")).content.decode()
    assert "Style model: VAE" in gallery
    stats = logged_in_client.get(reverse("studio:gallery_stats")).content.decode()
    assert "style" in stats


def test_it_refuses_a_creativity_out_of_range(logged_in_client, trained) -> None:
    response = logged_in_client.post(
        reverse("studio:style_generate", args=[trained.pk]), {"count": 1, "creativity": 9}
    )

    assert response.status_code == 400
    assert "Ensure this value is less than or equal to 3.0." in response.content.decode()


def test_it_walks_the_latent_space_between_two_artworks_and_saves_a_step(
    logged_in_client, user, trained, htmx_headers
) -> None:
    start, end = styles.generate(trained, count=2, creativity=1.0, seed=1)
    query = {"start": start.pk, "end": end.pk, "steps": 4}

    strip = logged_in_client.get(
        reverse("studio:style_interpolate", args=[trained.pk]), query, **htmx_headers
    )
    saved = logged_in_client.post(
        reverse("studio:style_interpolate_save", args=[trained.pk]), {**query, "index": 3}, follow=True
    )

    assert strip.content.decode().count("data:image/png;base64,") == 4
    newest = Portrait.objects.filter(owner=user, provider="style").order_by("-pk").first()
    assert np.allclose(newest.parameters["latent"], end.parameters["latent"])
    assert newest.parameters["interpolated_from"] == [start.pk, end.pk]
    assert "Saved step 4 as a new artwork." in saved.content.decode()


def test_it_refuses_to_interpolate_artworks_of_another_model(logged_in_client, user, trained) -> None:
    stranger = patterns.save_pattern(user, patterns.PatternOptions(width=120, height=120))
    (mine,) = styles.generate(trained, count=1, creativity=1.0, seed=1)

    response = logged_in_client.get(
        reverse("studio:style_interpolate", args=[trained.pk]),
        {"start": mine.pk, "end": stranger.pk, "steps": 4},
    )

    assert response.status_code == 400
    assert "Pick two artworks made by this style model." in response.content.decode()


def test_it_maps_training_and_generated_images_in_two_dimensions(logged_in_client, trained) -> None:
    styles.generate(trained, count=2, creativity=1.0, seed=1)

    html = logged_in_client.get(reverse("studio:style_latent_map", args=[trained.style_id])).content.decode()

    assert html.count('class="training"') == 6 and html.count('class="generated"') == 2
    assert 'class="thumb"' in html and "<svg" in html


def test_it_projects_with_pca_onto_the_direction_of_most_spread() -> None:
    vectors = np.array([[0, 0, 0], [1, 0.01, 0], [2, 0, 0.01], [3, 0.02, 0]], dtype=np.float32)

    projected = styles.pca_2d(vectors)

    assert projected.shape == (4, 2)
    assert np.all(np.diff(np.abs(projected[:, 0] - projected[0, 0])) > 0)


def test_it_says_how_long_training_takes_and_updates_it_as_the_form_changes(
    logged_in_client, filled_style, htmx_headers
) -> None:
    pytest.importorskip("torch")
    url = reverse("studio:style_detail", args=[filled_style.pk])

    page = logged_in_client.get(url).content.decode()
    estimate = logged_in_client.get(
        url, {"method": "vae", "image_size": 128, "epochs": 60, "seed": 0}, **htmx_headers
    ).content.decode()

    assert '<option value="64" selected>64×64</option>' in page
    assert "Training 60 epochs at 64×64 takes <strong>about 1 minute</strong> on this studio's CPU" in page
    assert estimate.strip().startswith('<p class="form-text mt-0" id="train-estimate"')
    assert "Training 60 epochs at 128×128 takes <strong>about 5 minutes</strong>" in estimate


def test_it_trains_at_128_pixels_by_default_when_a_gpu_is_present(
    logged_in_client, filled_style, monkeypatch
) -> None:
    pytest.importorskip("torch")
    monkeypatch.setattr(lab, "gpu_present", lambda: True)

    page = logged_in_client.get(reverse("studio:style_detail", args=[filled_style.pk])).content.decode()

    assert '<option value="128" selected>' in page
    assert "Training 60 epochs at 128×128 takes <strong>under a minute</strong> on this studio's GPU" in page


def test_it_refuses_an_image_size_the_lab_does_not_train(logged_in_client, filled_style) -> None:
    response = logged_in_client.post(
        reverse("studio:style_train", args=[filled_style.pk]),
        {"method": "vae", "image_size": 96, "epochs": 2, "seed": 0},
    )

    assert response.status_code == 400
    assert "Select a valid choice. 96 is not one of the available choices." in response.content.decode()
    assert not StyleModel.objects.exists()


def test_it_shows_the_time_left_from_the_runs_own_pace(logged_in_client, user, filled_style) -> None:
    run = StyleModel.objects.create(
        owner=user,
        style=filled_style,
        status=StyleModel.Status.RUNNING,
        epoch=3,
        epochs=10,
        losses=[3, 2, 1.5],
        started_at=timezone.now() - timedelta(seconds=30),
    )

    html = logged_in_client.get(run.get_absolute_url()).content.decode()

    assert "Epoch 3 of 10, about 1 minute left." in html


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(20, "under a minute"), (70, "about 1 minute"), (150, "about 2 minutes"), (9000, "about 2.5 hours")],
)
def test_it_describes_durations_roughly(seconds, words) -> None:
    assert styles.describe_duration(seconds) == words


def test_the_style_lab_shows_each_style_with_its_first_images_in_one_query(
    logged_in_client, user, filled_style, django_assert_max_num_queries
) -> None:
    other = Style.objects.create(owner=user, name="Empty")
    first = list(filled_style.images.order_by("created_at", "id").values_list("pk", flat=True))

    with django_assert_max_num_queries(8):
        html = logged_in_client.get(reverse("studio:style_lab")).content.decode()

    row = html[html.index(filled_style.get_absolute_url()) :].split("</li>")[0]
    shown = [pk for pk in first if reverse("studio:style_image", args=[pk]) in row]
    assert shown == first[:4] and "6 images" in row
    empty = html[html.index(other.get_absolute_url()) :].split("</li>")[0]
    assert "/lab/style-images/" not in empty and "0 images" in empty
