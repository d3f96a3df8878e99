from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from PIL import Image

from studio.portraits.files import read_png_metadata
from studio.portraits.generation import JobOptions, JobSpec, queue_character_portrait, queue_jobs
from studio.portraits.jobs import run_portrait_job
from studio.portraits.models import Portrait
from studio.portraits.providers.base import ErrorKind, user_message
from studio.tests.factories import CharacterFactory
from studio.tests.fakes import png_bytes

pytestmark = pytest.mark.django_db


def test_it_records_the_prompt_and_character_version_when_queueing(user):
    character = CharacterFactory(owner=user, hair_color="black")
    character.hair_color = "white"
    character.save()
    portrait = queue_character_portrait(character, seed=42)
    assert portrait.status == "queued"
    assert portrait.character_version == 2
    assert "white hair" in portrait.prompt
    assert portrait.provider == "local"
    assert portrait.seed == 42


def test_it_paints_a_queued_portrait_with_a_png_and_a_webp_thumbnail(user, settings):
    settings.THUMBNAIL_SIZE = 96
    portrait = queue_character_portrait(CharacterFactory(owner=user), seed=7, size="256x256")
    assert run_portrait_job(portrait.pk) == "succeeded"
    portrait.refresh_from_db()
    assert (portrait.width, portrait.height) == (256, 256)
    assert portrait.image.name.startswith("portraits/") and portrait.image.name.endswith(".png")
    with Image.open(portrait.thumbnail.path) as thumb:
        assert thumb.format == "WEBP"
        assert max(thumb.size) == 96


def test_it_writes_the_parameters_into_the_png(user):
    character = CharacterFactory(owner=user, name="Orla", negative_prompt="blurry, text")
    portrait = queue_character_portrait(character, seed=99, size="128x128")
    run_portrait_job(portrait.pk)
    portrait.refresh_from_db()
    metadata = read_png_metadata(portrait.image.read())
    assert metadata["prompt"] == portrait.prompt
    assert (
        metadata["negative_prompt"] == portrait.negative_prompt
        and "blurry, text" in metadata["negative_prompt"]
    )
    assert metadata["seed"] == "99"
    assert metadata["provider"] == "local"
    assert metadata["model"] == "painter-v1"
    assert metadata["size"] == "128x128"
    assert metadata["character"] == "Orla"
    assert metadata["character_version"] == "1"


def test_it_keeps_what_the_provider_reported_and_records_the_real_image_size(
    user, settings, fake_openai, logged_in_client
):
    fake_openai.revise_prompts = True
    [job] = queue_jobs(user, [JobSpec("a lighthouse")], JobOptions("openai", size="2:3"))
    assert run_portrait_job(job.pk) == "succeeded"
    portrait = Portrait.objects.get(pk=job.pk)
    assert portrait.revised_prompt == "A painterly portrait, revised: a lighthouse"
    assert portrait.parameters["size"] == "2:3", "what was asked stays recorded"
    assert portrait.parameters["sent"]["size"] == "1024x1536"
    metadata = read_png_metadata(portrait.image.read())
    # The fake answers with a 16x16 image, whatever was asked: the PNG says what it really is.
    assert metadata["size"] == "16x16" == f"{portrait.width}x{portrait.height}"
    assert metadata["revised_prompt"] == portrait.revised_prompt
    page = logged_in_client.get(portrait.get_absolute_url())
    assert "Revised prompt" in page.text and "A painterly portrait, revised: a lighthouse" in page.text


def test_it_keeps_the_providers_usage_figures(user, fake_openai):
    [job] = queue_jobs(user, [JobSpec("a fox")], JobOptions("openai", "gpt-image-2", "1024x1024", "low"))
    run_portrait_job(job.pk)
    portrait = Portrait.objects.get(pk=job.pk)
    assert portrait.parameters["usage"]["output_tokens"] == 196  # OpenAI's count for a low 1024x1024 image
    assert portrait.parameters["usage"]["total_tokens"] == 197
    assert portrait.parameters["provider_cost"] == str(portrait.estimated_cost)
    assert portrait.revised_prompt == ""


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"garbage that is not a PNG" * 4, id="signature-then-garbage"),
        pytest.param(png_bytes(256, 256)[:120], id="truncated"),
    ],
)
def test_an_image_that_does_not_decode_fails_the_job_as_unreadable(user, fake_huggingface, body):
    fake_huggingface.reply(200, body=body, headers={"Content-Type": "image/png"})
    [job] = queue_jobs(user, [JobSpec("a fox")], JobOptions("huggingface"))
    assert run_portrait_job(job.pk) == "failed"
    portrait = Portrait.objects.get(pk=job.pk)
    assert (portrait.status, portrait.error_kind) == ("failed", "malformed")
    assert portrait.error_message == user_message(ErrorKind.MALFORMED, provider_label="Hugging Face")
    assert portrait.can_retry and portrait.lease_expires_at is None and not portrait.image
    assert not any(Path(portrait.image.storage.location).rglob("*.*")), "no file was left behind"


def test_it_never_runs_a_job_twice(user):
    portrait = queue_character_portrait(CharacterFactory(owner=user), size="64x64")
    assert run_portrait_job(portrait.pk) == "succeeded"
    first_image = Portrait.objects.get(pk=portrait.pk).image.name
    assert run_portrait_job(portrait.pk) == "skipped"
    assert Portrait.objects.get(pk=portrait.pk).image.name == first_image


def test_it_skips_a_cancelled_job(user):
    portrait = queue_character_portrait(CharacterFactory(owner=user), size="64x64")
    Portrait.objects.filter(pk=portrait.pk).update(status=Portrait.Status.CANCELLED)
    assert run_portrait_job(portrait.pk) == "skipped"
    assert not Portrait.objects.get(pk=portrait.pk).image


def test_it_paints_the_same_image_for_the_same_seed(user):
    character = CharacterFactory(owner=user)
    first = queue_character_portrait(character, seed=5, size="64x64")
    second = queue_character_portrait(character, seed=5, size="64x64")
    for portrait in (first, second):
        run_portrait_job(portrait.pk)
    pixels = [
        Image.open(io.BytesIO(Portrait.objects.get(pk=p.pk).image.read())).tobytes() for p in (first, second)
    ]
    assert pixels[0] == pixels[1]


@pytest.mark.django_db(transaction=True)
def test_it_runs_queued_jobs_through_the_database_worker(user):
    portrait = queue_character_portrait(CharacterFactory(owner=user), size="64x64")
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0")
    portrait.refresh_from_db()
    assert portrait.status == "succeeded"
    assert portrait.attempts == 1


def test_it_keeps_a_providers_png_pixels_and_adds_the_parameters_without_re_encoding():
    from studio.painter import render_png
    from studio.portraits.files import encode_portrait_files

    original = render_png({"hair_color": "red"}, seed=3, size=96)
    files = encode_portrait_files(original, {"prompt": "Ünïcode prompt", "seed": 3})
    assert read_png_metadata(files.png) == {"prompt": "Ünïcode prompt", "seed": "3"}
    with Image.open(io.BytesIO(files.png)) as stored, Image.open(io.BytesIO(original)) as source:
        assert stored.tobytes() == source.tobytes()
    # Only the text chunks were added: the compressed pixel data is byte-for-byte the provider's.
    assert original[33:] in files.png


def test_it_converts_a_jpeg_from_a_provider_into_a_png_with_the_parameters():
    from studio.portraits.files import encode_portrait_files

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(buffer, "JPEG")
    files = encode_portrait_files(buffer.getvalue(), {"provider": "stability"})
    assert files.png.startswith(b"\x89PNG") and (files.width, files.height) == (40, 30)
    assert read_png_metadata(files.png) == {"provider": "stability"}


def test_a_job_whose_image_cannot_be_saved_fails_instead_of_hanging(user, monkeypatch):
    from django.core.files.storage import FileSystemStorage

    def disk_full(self, name, content):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(FileSystemStorage, "_save", disk_full)
    portrait = queue_character_portrait(CharacterFactory(owner=user), size="64x64")
    assert run_portrait_job(portrait.pk) == "failed"
    portrait.refresh_from_db()
    assert (portrait.status, portrait.error_kind, portrait.lease_expires_at) == ("failed", "internal", None)
    assert portrait.can_retry
