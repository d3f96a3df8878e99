from __future__ import annotations

import os

import pytest
from django.urls import reverse

from studio.generation import run_portrait_job
from studio.tests.factories import CharacterFactory, PortraitFactory

pytestmark = pytest.mark.django_db

QUICK = {"provider": "local", "model": "painter-v1", "size": "512x512"}


@pytest.fixture
def remixable(user):
    portrait = PortraitFactory(
        character=CharacterFactory(owner=user),
        prompt="a tall wizard",
        negative_prompt="blur",
        seed=4242,
        parameters={"size": "512x512"},
    )
    run_portrait_job(portrait.pk)
    portrait.refresh_from_db()
    return portrait


# --- Remix ----------------------------------------------------------------------------------------------


def test_remix_prefills_from_the_record_when_the_image_file_is_missing(logged_in_client, remixable):
    os.remove(remixable.image.path)
    response = logged_in_client.get(reverse("studio:quick_generate"), {"remix": remixable.pk})
    assert response.status_code == 200
    assert "could not be read" in response.text
    assert ">a tall wizard</textarea>" in response.text
    assert 'value="blur"' in response.text and 'value="4242"' in response.text
    assert '<option value="512x512" selected>' in response.text


def test_remix_prefills_from_the_record_when_the_image_file_is_corrupt(logged_in_client, remixable):
    with open(remixable.image.path, "wb") as file:
        file.write(b"\x89PNG\r\n\x1a\n this is not a png any more")
    response = logged_in_client.get(reverse("studio:quick_generate"), {"remix": remixable.pk})
    assert response.status_code == 200
    assert "could not be read" in response.text
    assert ">a tall wizard</textarea>" in response.text


# --- no provider configured -----------------------------------------------------------------------------


@pytest.fixture
def no_provider(settings):
    settings.IMAGE_PROVIDERS = ["openai"]
    settings.OPENAI_API_KEY = ""


def test_quick_generate_says_no_provider_is_configured(logged_in_client, no_provider):
    response = logged_in_client.get(reverse("studio:quick_generate"))
    assert response.status_code == 200
    assert "No image provider is configured on this studio" in response.text
    assert "ask the studio admin" in response.text
    assert 'id="quick-generate-button" disabled' in response.text


def test_quick_generate_refuses_a_post_without_a_provider_with_the_message(logged_in_client, no_provider):
    data = QUICK | {"prompt": ["a fox"], "negative_prompt": [""], "seed": [""]}
    response = logged_in_client.post(reverse("studio:quick_generate"), data)
    assert response.status_code == 400
    assert "No image provider is configured on this studio" in response.text


def test_the_generator_options_say_no_provider_is_configured(logged_in_client, htmx_headers, no_provider):
    response = logged_in_client.get(reverse("studio:generator_options"), QUICK, **htmx_headers)
    assert response.status_code == 200
    assert "No image provider is configured on this studio" in response.text


def test_the_character_generator_says_no_provider_is_configured(
    logged_in_client, user, htmx_headers, no_provider
):
    character = CharacterFactory(owner=user)
    page = logged_in_client.get(character.get_absolute_url())
    assert page.status_code == 200
    assert "No image provider is configured on this studio" in page.text
    data = {"provider": "local", "model": "painter-v1", "size": "512x512", "count": "1"}
    response = logged_in_client.post(
        reverse("studio:portrait_generate", args=[character.pk]), data, follow=True
    )
    assert response.status_code == 200
    assert "No image provider is configured on this studio" in response.text
    assert not character.portraits.exists()
