from __future__ import annotations

import pytest
from django.urls import reverse

from site_config.settings import social_providers

pytestmark = pytest.mark.django_db


def test_it_configures_no_social_provider_without_client_ids():
    assert social_providers() == {}
    assert social_providers(github=("id", ""), oidc=("id", "secret")) == {}  # half-configured: off


def test_it_configures_each_provider_from_its_id_and_secret():
    providers = social_providers(
        github=("gh-id", "gh-secret"),
        google=("g-id", "g-secret"),
        oidc=("o-id", "o-secret"),
        oidc_server_url="https://sso.example.com/realms/team",
        oidc_name="Team SSO",
    )
    assert providers["github"]["APPS"] == [{"client_id": "gh-id", "secret": "gh-secret"}]
    assert providers["google"]["APPS"][0]["client_id"] == "g-id"
    [app] = providers["openid_connect"]["APPS"]
    assert app["name"] == "Team SSO"
    assert app["provider_id"] == "oidc"
    assert app["settings"] == {"server_url": "https://sso.example.com/realms/team"}


def test_it_shows_buttons_only_for_configured_providers(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {}
    assert "Continue with" not in client.get(reverse("account_login")).text
    settings.SOCIALACCOUNT_PROVIDERS = social_providers(
        github=("gh-id", "gh-secret"), oidc=("o-id", "o-secret"), oidc_server_url="http://127.0.0.1:1/"
    )
    text = client.get(reverse("account_login")).text
    assert "Continue with GitHub" in text
    assert "Continue with Single sign-on" in text
    assert "Continue with Google" not in text


def test_it_explains_a_cancelled_social_login(client):
    response = client.get(reverse("socialaccount_login_cancelled"))
    assert "Login cancelled" in response.text
    assert reverse("account_login") in response.text


def test_it_explains_a_denial_that_comes_back_without_its_state(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = social_providers(
        oidc=("o-id", "o-secret"), oidc_server_url="http://127.0.0.1:1/"
    )
    response = client.get("/accounts/oidc/oidc/login/callback/?error=access_denied")
    assert "Login cancelled" in response.text
    assert "denied or cancelled at the provider" in response.text
    response = client.get("/accounts/oidc/oidc/login/callback/?error=server_error")
    assert "Login failed" in response.text
