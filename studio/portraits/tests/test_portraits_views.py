from __future__ import annotations

import os

import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from studio.portraits.jobs import run_portrait_job
from studio.portraits.models import Portrait
from studio.tests.factories import CharacterFactory, PortraitFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def painted(user):
    character = CharacterFactory(owner=user, name="Iris Vane")
    portrait = PortraitFactory(character=character, parameters={"size": "128x128"})
    run_portrait_job(portrait.pk)
    portrait.refresh_from_db()
    return portrait


def test_it_queues_a_portrait_and_returns_a_card_the_page_poller_follows_to_htmx(
    logged_in_client, user, htmx_headers, django_capture_on_commit_callbacks
):
    character = CharacterFactory(owner=user)
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in_client.post(
            reverse("studio:portrait_generate", args=[character.pk]), **htmx_headers
        )
    portrait = Portrait.objects.get(character=character)
    assert portrait.status == "queued"
    assert portrait.character_version == character.version
    assert "Queued…" in response.text
    assert f'name="active_card" value="{portrait.pk}:queued"' in response.text, "the page's poller follows it"
    assert "every 1s" not in response.text, "no poller per card"
    assert DBTaskResult.objects.filter(args_kwargs__args=[portrait.pk]).exists()


def test_it_redirects_back_to_the_character_without_htmx(logged_in_client, user):
    character = CharacterFactory(owner=user)
    response = logged_in_client.post(reverse("studio:portrait_generate", args=[character.pk]))
    assert response.status_code == 302
    assert response["Location"] == character.get_absolute_url()


def test_it_stops_polling_once_the_portrait_is_painted(logged_in_client, painted):
    response = logged_in_client.get(reverse("studio:portrait_card", args=[painted.pk]))
    assert "every 1s" not in response.text
    assert reverse("studio:portrait_thumbnail", args=[painted.pk]) in response.text


def test_it_shows_the_failure_message_on_a_failed_card(logged_in_client, user):
    portrait = PortraitFactory(character=CharacterFactory(owner=user))
    portrait.mark_failed("auth", "The API key was rejected. Ask the studio admin to check it.")
    response = logged_in_client.get(reverse("studio:portrait_card", args=[portrait.pk]))
    assert "The API key was rejected" in response.text
    assert "every 1s" not in response.text


def test_it_downloads_the_png_with_a_readable_name(logged_in_client, painted):
    response = logged_in_client.get(reverse("studio:portrait_image", args=[painted.pk]), {"download": "1"})
    assert response["Content-Type"] == "image/png"
    assert f'filename="iris-vane-{painted.pk}.png"' in response["Content-Disposition"]
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_it_serves_a_webp_thumbnail(logged_in_client, painted):
    response = logged_in_client.get(reverse("studio:portrait_thumbnail", args=[painted.pk]))
    body = b"".join(response.streaming_content)
    assert body[:4] == b"RIFF"
    assert body[8:12] == b"WEBP"


@pytest.mark.parametrize(
    "route",
    ["studio:portrait_detail", "studio:portrait_card", "studio:portrait_image", "studio:portrait_thumbnail"],
)
def test_it_hides_another_users_portrait(client, other_user, painted, route):
    client.force_login(other_user)
    assert client.get(reverse(route, args=[painted.pk])).status_code == 404


def test_it_deletes_a_portrait_and_both_files(logged_in_client, painted, htmx_headers):
    paths = [painted.image.path, painted.thumbnail.path]
    assert all(os.path.exists(path) for path in paths)
    response = logged_in_client.post(reverse("studio:portrait_delete", args=[painted.pk]), **htmx_headers)
    assert response.status_code == 200
    assert not Portrait.objects.filter(pk=painted.pk).exists()
    assert not any(os.path.exists(path) for path in paths)


def test_it_refuses_to_delete_another_users_portrait(client, other_user, painted):
    client.force_login(other_user)
    response = client.post(reverse("studio:portrait_delete", args=[painted.pk]))
    assert response.status_code == 404
    assert Portrait.objects.filter(pk=painted.pk).exists()


@pytest.mark.parametrize("route", ["studio:portrait_image", "studio:portrait_thumbnail"])
def test_it_answers_404_with_a_message_when_the_file_is_missing_on_disk(logged_in_client, painted, route):
    os.remove(painted.image.path)
    os.remove(painted.thumbnail.path)
    response = logged_in_client.get(reverse(route, args=[painted.pk]))
    assert response.status_code == 404
    assert "image file is missing" in response.content.decode()


def test_it_shows_the_style_and_provider_options_on_the_portrait_page(logged_in_client, user):
    portrait = PortraitFactory(
        character=CharacterFactory(owner=user),
        provider="openai",
        model="gpt-image-2",
        parameters={
            "size": "1024x1024",
            "style": "natural",
            "options": {"background": "opaque", "moderation": "low"},
        },
    )
    page = logged_in_client.get(reverse("studio:portrait_detail", args=[portrait.pk])).text
    assert "<dt>Style</dt><dd>natural</dd>" in page
    assert "<dt>Provider options</dt><dd>background: opaque, moderation: low</dd>" in page


def test_the_portrait_page_is_titled_and_calls_a_free_portrait_free(logged_in_client, painted):
    page = logged_in_client.get(reverse("studio:portrait_detail", args=[painted.pk])).text

    heading = page.split('<h1 class="h4 mb-3">')[1].split("</h1>")[0]
    assert heading.startswith("Iris Vane ") and f"#{painted.pk}" in heading
    assert "<dt>Cost</dt><dd>Free</dd>" in page and "$0.0000" not in page


def test_a_cancelled_card_is_a_neutral_placeholder_not_an_error(logged_in_client, user):
    character = CharacterFactory(owner=user)
    portrait = PortraitFactory(character=character, status=Portrait.Status.CANCELLED)

    page = logged_in_client.get(character.get_absolute_url()).text

    card = page.split(f'id="portrait-{portrait.pk}"')[1].split('class="card-body')[0]
    assert "Cancelled" in card and "bi-x-circle" in card
    assert "portrait-error" not in card and "bg-danger-subtle" not in card and 'role="alert"' not in card
