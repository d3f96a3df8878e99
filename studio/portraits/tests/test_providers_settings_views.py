from __future__ import annotations

import time

import pytest
from django.urls import reverse

from studio.tests.fakes import Reply, openai_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)
    return client


def test_the_provider_settings_page_never_shows_a_key(staff_client, settings):
    settings.OPENAI_API_KEY = "sk-secret-value-123"
    settings.STABILITY_API_KEY = ""
    response = staff_client.get(reverse("studio:provider_settings"))
    assert "sk-secret-value-123" not in response.text
    assert "Configured" in response.text and "Not configured" in response.text
    assert "https://api.openai.com/v1" in response.text


def test_the_page_shows_each_providers_own_timeout(staff_client, settings):
    settings.OPENAI_TIMEOUT = 45
    settings.STABILITY_TIMEOUT = 200
    response = staff_client.get(reverse("studio:provider_settings"))
    assert "45 s" in response.text and "200 s" in response.text


def test_the_models_check_lists_image_models_and_warns_about_shutdowns(
    staff_client, htmx_headers, fake_openai
):
    fake_openai.models.append({"id": "dall-e-3", "object": "model", "created": 1, "owned_by": "system"})
    response = staff_client.get(reverse("studio:openai_models"), **htmx_headers)
    assert "gpt-image-2" in response.text and "gpt-4o" not in response.text
    assert "dall-e-3" in response.text and "was shut down on 2026-05-12" in response.text


def test_the_models_check_shows_the_providers_error(staff_client, htmx_headers, fake_openai):
    fake_openai.push(openai_error(401, "Incorrect API key provided", code="invalid_api_key"))
    response = staff_client.get(reverse("studio:openai_models"), **htmx_headers)
    assert "The OpenAI API key was rejected" in response.text


def test_the_models_check_gives_up_within_the_check_timeout(
    staff_client, htmx_headers, fake_openai, settings
):
    # Generation may wait minutes; the check runs in the web request, which gunicorn kills at 60 s.
    settings.OPENAI_TIMEOUT = 30
    settings.PROVIDER_CHECK_TIMEOUT = 0.2
    fake_openai.push(Reply(200, {"object": "list", "data": fake_openai.models}, delay=1.0))
    started = time.monotonic()
    response = staff_client.get(reverse("studio:openai_models"), **htmx_headers)
    assert time.monotonic() - started < 0.9
    assert response.status_code == 200
    assert "OpenAI did not answer in time" in response.text


@pytest.mark.parametrize("route", ["studio:provider_settings", "studio:openai_models"])
def test_it_refuses_the_settings_and_the_models_check_to_users_who_are_not_staff(
    logged_in_client, fake_openai, settings, route
):
    settings.OPENAI_BASE_URL = f"{fake_openai.url}/v1"
    response = logged_in_client.get(reverse(route))
    assert response.status_code == 403
    assert "Only studio staff can see the image provider settings" in response.text
    assert fake_openai.url not in response.text
    assert fake_openai.requests == []  # no /v1/models call with the studio's key


@pytest.mark.parametrize("route", ["studio:provider_settings", "studio:openai_models"])
def test_it_sends_visitors_to_log_in(client, route):
    response = client.get(reverse(route))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_navbar_links_the_provider_settings_for_staff_only(client, user):
    url = reverse("studio:provider_settings")
    client.force_login(user)
    assert f'href="{url}"' not in client.get(reverse("studio:character_list")).text
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    assert f'href="{url}"' in client.get(reverse("studio:character_list")).text


def test_the_page_says_a_retired_default_model_was_retired_and_what_to_use(staff_client, settings):
    settings.OPENAI_IMAGE_MODEL = "gpt-image-1"
    response = staff_client.get(reverse("studio:provider_settings"))
    assert "gpt-image-1 was retired on 2026-10-23; use gpt-image-2.5-sunburst." in response.text
