"""Pages name a portrait's provider by its display name ("Local painter"), not its stored key ("local")."""

from __future__ import annotations

import pytest
from django.urls import reverse

from studio.portraits.generation import JobOptions, queue_character_portraits
from studio.portraits.models import Batch, Portrait
from studio.portraits.providers import provider_label
from studio.portraits.tests.test_galleries import png_bytes
from studio.tests.factories import CharacterFactory, PortraitFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("key", "label"),
    [
        ("openai", "OpenAI"),
        ("stability", "Stability AI"),
        ("huggingface", "Hugging Face"),
        ("local", "Local painter"),
        ("patterns", "Patterns"),
        ("imported", "Imported"),
        ("style", "Style model"),
        ("retired-provider", "retired-provider"),
    ],
)
def test_each_provider_key_has_its_display_name_and_an_unknown_one_keeps_its_key(key, label):
    assert Portrait.label_of_provider(key) == label
    assert Portrait(provider=key).provider_label == label


def test_a_provider_switched_off_still_names_its_old_portraits(settings):
    settings.IMAGE_PROVIDERS = ["local"]
    assert provider_label("stability") == "Stability AI"
    assert Portrait(provider="openai").provider_label == "OpenAI"


def test_the_portrait_page_and_the_lightbox_name_the_painter(logged_in_client, user, htmx_headers):
    portrait = PortraitFactory(character=CharacterFactory(owner=user), provider="local", model="painter-v1")
    portrait.store_image(png_bytes())
    for url, headers in (
        (reverse("studio:portrait_detail", args=[portrait.pk]), {}),
        (reverse("studio:gallery_portrait", args=[portrait.pk]), htmx_headers),
        (reverse("studio:gallery_portrait", args=[portrait.pk]), {}),
    ):
        page = logged_in_client.get(url, **headers).text
        assert "<dd>Local painter · painter-v1</dd>" in page, url
        assert "<dd>local" not in page, url


def test_the_queue_batch_and_character_pages_name_the_painter(logged_in_client, user):
    character = CharacterFactory(owner=user, name="Orla")
    queue_character_portraits(character, JobOptions("local", size="64x64"), count=2)
    batch = Batch.objects.get()
    queue = logged_in_client.get(reverse("studio:queue")).text
    assert queue.count("<span>Local painter · painter-v1</span>") == 2
    assert ">local ·" not in queue
    for url in (batch.get_absolute_url(), character.get_absolute_url()):
        page = logged_in_client.get(url).text
        assert '<span class="text-body-secondary text-truncate">Local painter · seed' in page, url
        assert ">local ·" not in page, url


def test_the_usage_page_names_providers_by_display_name(logged_in_client, user):
    PortraitFactory(character=CharacterFactory(owner=user), provider="local", status="succeeded")
    page = logged_in_client.get(reverse("studio:usage")).text
    assert "Local painter" in page
