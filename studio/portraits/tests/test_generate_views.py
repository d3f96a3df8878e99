from __future__ import annotations

import os

import pytest
from django.urls import reverse

from studio.characters import prompts
from studio.portraits.jobs import run_portrait_job
from studio.portraits.models import Portrait
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


def test_remix_prefills_quick_generate_from_the_png(logged_in_client, remixable):
    Portrait.objects.filter(pk=remixable.pk).update(prompt="changed in the database only")
    response = logged_in_client.get(reverse("studio:quick_generate"), {"remix": remixable.pk})
    assert ">a tall wizard</textarea>" in response.text
    assert 'value="blur"' in response.text and 'value="4242"' in response.text
    assert '<option value="512x512" selected>' in response.text


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
    rows = page[page.index('id="quick-rows-wrapper"') : page.index('id="quick-rows"')]
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


# --- provider options: style and the advanced section ----------------------------------------------------


def _quick(client, data: dict, *prompts: str, **extra):
    return client.post(
        reverse("studio:quick_generate"), data | _rows(*(prompts or ("a lighthouse",))), **extra
    )


def _options_page(client, **data) -> str:
    return client.get(reverse("studio:generator_options"), data, HTTP_HX_REQUEST="true").text


def test_the_generator_offers_only_what_the_chosen_provider_and_model_take(
    logged_in_client, fake_openai, fake_stability, fake_huggingface
):
    local = _options_page(logged_in_client, provider="local")
    assert "Advanced options" not in local and "Style" not in local
    gpt = _options_page(logged_in_client, provider="openai", model="gpt-image-2")
    assert "<summary" in gpt and "Advanced options for OpenAI" in gpt
    for label, name in [
        ("Background", "background"),
        ("Moderation", "moderation"),
        ("Output format", "output_format"),
    ]:
        assert f'<label class="form-label small mb-1" for="id_{name}">{label}</label>' in gpt
    assert 'for="id_style"' not in gpt, "GPT Image models take no style"
    core = _options_page(logged_in_client, provider="stability", model="core")
    assert 'for="id_style">Style preset</label>' in core and '<option value="anime">Anime</option>' in core
    ultra = _options_page(logged_in_client, provider="stability", model="ultra", style="anime")
    assert 'for="id_style"' not in ultra, "only Stable Image Core takes a style preset"
    hf = _options_page(logged_in_client, provider="huggingface")
    assert 'for="id_num_inference_steps">Steps</label>' in hf
    assert 'for="id_guidance_scale">Guidance scale</label>' in hf


def test_the_advanced_section_stays_open_while_an_option_is_set(logged_in_client, fake_openai):
    closed = _options_page(logged_in_client, provider="openai", model="gpt-image-2")
    assert '<details class="mb-2 generator-advanced">' in closed
    opened = _options_page(logged_in_client, provider="openai", model="gpt-image-2", background="opaque")
    assert '<details class="mb-2 generator-advanced" open>' in opened
    assert '<option value="opaque" selected>' in opened


def test_a_stability_style_preset_reaches_the_provider(logged_in_client, user, fake_stability):
    data = {"provider": "stability", "model": "core", "size": "1:1", "style": "anime"}
    _quick(logged_in_client, data)
    portrait = Portrait.objects.get()
    assert portrait.parameters["style"] == "anime"
    assert run_portrait_job(portrait.pk) == "succeeded"
    assert fake_stability.last.form["style_preset"] == "anime"


def test_a_retired_default_model_is_refused_at_queueing_with_its_replacement(
    logged_in_client, user, fake_openai, settings
):
    settings.OPENAI_IMAGE_MODEL = "dall-e-3"
    data = {"provider": "openai", "model": "dall-e-3", "size": "1024x1024", "quality": "high"}
    response = _quick(logged_in_client, data, follow=True)

    assert "dall-e-3 was retired on 2026-05-12; use gpt-image-2." in response.text
    assert not Portrait.objects.exists()
    assert fake_openai.requests == []


def test_a_job_whose_model_retired_after_queueing_fails_before_any_request(
    logged_in_client, user, fake_openai
):
    _quick(logged_in_client, {"provider": "openai", "model": "gpt-image-2", "size": "1024x1024"})
    portrait = Portrait.objects.get()
    Portrait.objects.filter(pk=portrait.pk).update(model="dall-e-3")

    assert run_portrait_job(portrait.pk) == "failed"
    portrait.refresh_from_db()
    assert portrait.error_message == "dall-e-3 was retired on 2026-05-12; use gpt-image-2."
    assert fake_openai.requests == []


def test_gpt_image_options_reach_the_provider(logged_in_client, user, fake_openai):
    data = {
        "provider": "openai",
        "model": "gpt-image-1-mini",
        "size": "1024x1024",
        "quality": "low",
        "background": "transparent",
        "moderation": "low",
        "output_format": "webp",
    }
    _quick(logged_in_client, data)
    portrait = Portrait.objects.get()
    assert portrait.parameters["options"] == {
        "background": "transparent",
        "moderation": "low",
        "output_format": "webp",
    }
    assert run_portrait_job(portrait.pk) == "succeeded"
    sent = fake_openai.last.json
    assert (sent["background"], sent["moderation"], sent["output_format"]) == ("transparent", "low", "webp")


def test_hugging_face_steps_and_guidance_reach_the_provider_from_the_character_generator(
    logged_in_client, user, htmx_headers, fake_huggingface
):
    character = CharacterFactory(owner=user)
    data = {
        "provider": "huggingface",
        "model": "black-forest-labs/FLUX.1-schnell",
        "size": "1024x1024",
        "count": "1",
        "num_inference_steps": "4",
        "guidance_scale": "0",
    }
    logged_in_client.post(reverse("studio:portrait_generate", args=[character.pk]), data, **htmx_headers)
    portrait = Portrait.objects.get()
    assert portrait.parameters["options"] == {"num_inference_steps": 4, "guidance_scale": 0.0}
    assert run_portrait_job(portrait.pk) == "succeeded"
    sent = fake_huggingface.last.json["parameters"]
    assert (sent["num_inference_steps"], sent["guidance_scale"]) == (4, 0.0)


def test_the_request_for_a_stored_job_carries_its_style_and_options(user):
    from studio.portraits.jobs import _request_for

    portrait = PortraitFactory(
        character=CharacterFactory(owner=user),
        parameters={"size": "1:1", "style": "anime", "options": {"output_format": "webp"}},
    )
    request = _request_for(portrait)
    assert (request.style, dict(request.options)) == ("anime", {"output_format": "webp"})


def test_it_explains_a_transparent_jpeg_and_queues_nothing(logged_in_client, fake_openai):
    data = {"provider": "openai", "model": "gpt-image-2", "size": "1024x1024", "quality": "low"}
    response = _quick(logged_in_client, data | {"background": "transparent", "output_format": "jpeg"})
    assert response.status_code == 400
    assert "A transparent background needs PNG or WebP output, not JPEG." in response.text
    assert not Portrait.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"provider": "openai", "model": "gpt-image-2", "size": "1024x1024", "moderation": "none"},
            "Moderation: Select a valid choice. none is not one of the available choices.",
        ),
        (
            {"provider": "stability", "model": "core", "size": "1:1", "style": "watercolour"},
            "Style preset: Select a valid choice. watercolour is not one of the available choices.",
        ),
        (
            {"provider": "huggingface", "size": "1024x1024", "num_inference_steps": "500"},
            "Steps: Ensure this value is less than or equal to 100.",
        ),
    ],
)
def test_it_explains_an_option_the_provider_cannot_take_and_queues_nothing(
    logged_in_client, user, fake_openai, fake_stability, fake_huggingface, data, message
):
    character = CharacterFactory(owner=user)
    url = reverse("studio:portrait_generate", args=[character.pk])
    data = {"model": "black-forest-labs/FLUX.1-schnell", "count": "1"} | data
    response = logged_in_client.post(url, data, follow=True)
    assert message in response.text
    assert not Portrait.objects.exists()


def test_remix_keeps_the_style_and_options(logged_in_client, user, fake_openai):
    portrait = PortraitFactory(
        character=CharacterFactory(owner=user),
        provider="openai",
        model="gpt-image-2",
        status="failed",
        parameters={"size": "1024x1024", "quality": "low", "options": {"background": "opaque"}},
    )
    page = logged_in_client.get(reverse("studio:quick_generate"), {"remix": portrait.pk}).text
    assert '<details class="mb-2 generator-advanced" open>' in page
    assert '<option value="opaque" selected>' in page


# --- one Generate control; the panel never replaces what is being typed ----------------------------------


def test_the_top_generate_button_submits_the_generator_panels_settings(logged_in_client, user):
    character = CharacterFactory(owner=user)
    page = logged_in_client.get(character.get_absolute_url()).text
    button = page[page.index('id="generate-button"') - 120 : page.index('id="generate-button"')]
    assert 'form="generator-form"' in button
    data = {"provider": "local", "model": "painter-v1", "size": "512x512", "count": "1", "seed": "777"}
    logged_in_client.post(reverse("studio:portrait_generate", args=[character.pk]), data)
    portrait = character.portraits.get()
    assert portrait.seed == 777 and portrait.parameters["size"] == "512x512"


def test_the_character_page_keeps_its_empty_state_and_new_cards_never_name_it(
    logged_in_client, user, htmx_headers
):
    character = CharacterFactory(owner=user)
    url = reverse("studio:portrait_generate", args=[character.pk])
    for _ in range(2):  # the first portrait, and the next after it was deleted
        page = logged_in_client.get(character.get_absolute_url()).text
        grid = page[page.index('id="portrait-grid"') :]
        # After any cards, as the grid's last child (app.css shows it only when alone).
        assert grid.index('id="no-portraits"') > grid.find("portrait-card-col")
        assert grid[grid.index('id="no-portraits"') :].index("</p>") < grid.index("</div>")
        response = logged_in_client.post(url, **htmx_headers)
        assert response.status_code == 200 and "portrait-card-col" in response.text
        assert "hx-swap-oob" not in response.text and "no-portraits" not in response.text
        character.portraits.get().delete()


def test_a_change_of_images_or_seed_swaps_only_the_estimate(logged_in_client, htmx_headers):
    data = {"provider": "local", "model": "painter-v1", "size": "512x512", "count": "3", "seed": "4"}
    response = logged_in_client.post(
        reverse("studio:generator_options"), data | {"changed": "count"}, **htmx_headers
    )
    assert 'id="cost-estimate" aria-live="polite" hx-swap-oob="true"' in response.text
    assert "3 images · free" in response.text
    assert not any(tag in response.text for tag in ("<select", "<input", "<textarea"))


def test_a_change_of_provider_swaps_its_models_and_their_options_but_not_the_typed_fields(
    logged_in_client, htmx_headers, fake_openai
):
    data = {"provider": "openai", "model": "painter-v1", "size": "512x512", "count": "2", "seed": "42"}
    response = logged_in_client.post(
        reverse("studio:generator_options"), data | {"changed": "provider"}, **htmx_headers
    )
    assert '<div id="generator-model" hx-swap-oob="true">' in response.text
    assert '<div id="generator-dependent" hx-swap-oob="true">' in response.text
    assert 'value="gpt-image-2"' in response.text and 'name="quality"' in response.text
    assert 'name="seed"' not in response.text and 'name="count"' not in response.text
    model_only = logged_in_client.post(
        reverse("studio:generator_options"), data | {"changed": "model"}, **htmx_headers
    )
    assert 'id="generator-dependent"' in model_only.text and 'id="generator-model"' not in model_only.text


def test_the_generator_measures_the_characters_prompt_against_the_chosen_providers_limit(
    logged_in_client, user, htmx_headers, fake_openai
):
    character = CharacterFactory(owner=user)
    page = logged_in_client.get(character.get_absolute_url()).text
    length = len(prompts.character_prompt(character).text)
    assert f"Prompt: {length} of 10000 characters for Local painter." in page
    data = {"provider": "openai", "model": "", "size": "1024x1024", "count": "1", "prompt_length": "33000"}
    response = logged_in_client.post(
        reverse("studio:generator_options"), data | {"changed": "provider"}, **htmx_headers
    )
    assert "Prompt: 33000 of 32000 characters for OpenAI: too long" in response.text
