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


# --- the quick-generate cost estimate follows the prompt rows --------------------------------------------


def _rows(*prompts: str) -> dict[str, list[str]]:
    return {"prompt": list(prompts), "negative_prompt": [""] * len(prompts), "seed": [""] * len(prompts)}


def test_the_prompt_rows_ask_for_a_fresh_estimate_as_they_are_typed_in(logged_in_client):
    page = logged_in_client.get(reverse("studio:quick_generate")).text
    rows = page[page.index('id="quick-rows"') - 5 : page.index('class="card mb-2 quick-row"')]
    assert f'hx-post="{reverse("studio:generator_options")}"' in rows
    assert 'hx-trigger="input delay:400ms"' in rows and 'hx-target="#cost-estimate"' in rows


def test_removing_a_row_updates_the_estimate_out_of_band(logged_in_client, htmx_headers, fake_openai):
    data = {"provider": "openai", "model": "gpt-image-2", "size": "1024x1024", "quality": "low"}
    response = logged_in_client.post(
        reverse("studio:quick_generate"),
        data | _rows("one", "two", "three") | {"_remove": "1"},
        **htmx_headers,
    )
    assert 'id="quick-rows"' in response.text
    estimate = response.text[response.text.index('id="cost-estimate"') :]
    assert estimate.startswith('id="cost-estimate" aria-live="polite" hx-swap-oob="true"')
    assert "2 images × $0.006 = <strong>$0.01</strong> estimated" in estimate


def test_adding_a_row_sends_the_estimate_along_with_the_rows(logged_in_client, htmx_headers):
    response = logged_in_client.post(
        reverse("studio:quick_generate"), QUICK | _rows("one", "two") | {"_add": "1"}, **htmx_headers
    )
    assert 'for="prompt-3">Prompt 3</label>' in response.text
    assert 'hx-swap-oob="true"' in response.text and "2 images · free (Local painter)" in response.text


def test_the_estimate_alone_counts_the_typed_prompts(logged_in_client, fake_openai):
    data = {
        "provider": "openai",
        "model": "gpt-image-2",
        "size": "1024x1024",
        "quality": "low",
        "per_row": "1",
    }
    response = logged_in_client.post(
        reverse("studio:generator_options"),
        data | _rows("a lighthouse", "x" * 5000, "", "a fox"),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="cost-estimate",
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<p class="small mb-0 cost-estimate" id="cost-estimate"')
    assert "3 images × $0.006 = <strong>$0.02</strong> estimated" in response.text
    assert "<select" not in response.text and "hx-swap-oob" not in response.text
