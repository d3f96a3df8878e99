"""Social login against a real OpenID Connect provider (oidc-provider-mock) running on 127.0.0.1."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from site_config.settings import social_providers

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[str]:
    """A real OpenID provider (authorization form, tokens, JWKS, userinfo) over HTTP on a free local port."""
    # The mock speaks plain HTTP on localhost; authlib refuses that unless told it is a test setup.
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread(port=0) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def sso(settings, oidc_provider: str) -> str:
    settings.SOCIALACCOUNT_PROVIDERS = social_providers(
        oidc=("dali-e2e-client", "dali-e2e-secret"), oidc_server_url=oidc_provider, oidc_name="Team SSO"
    )
    return oidc_provider


def start_sign_in(page: Page, live_server_url: str) -> None:
    page.goto(f"{live_server_url}/accounts/login/")
    page.get_by_role("link", name="Continue with Team SSO").click()
    expect(page.get_by_role("heading", name="Log in via Team SSO", exact=True)).to_be_visible()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible()


def test_a_user_signs_in_with_openid_connect_and_is_the_same_user_next_time(page, live_server, sso):
    from allauth.socialaccount.models import SocialAccount
    from django.contrib.auth import get_user_model

    start_sign_in(page, live_server.url)
    page.get_by_placeholder("sub").fill("alice@example.com")
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url("**/studio/characters/")
    expect(page.get_by_role("button", name="alice")).to_be_visible()  # the user menu
    user = get_user_model().objects.get()
    assert user.email == "alice@example.com"
    [account] = SocialAccount.objects.all()
    assert (account.provider, account.uid, account.user_id) == ("oidc", "alice@example.com", user.pk)

    page.get_by_role("button", name="alice").click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_server.url}/")

    start_sign_in(page, live_server.url)
    page.get_by_placeholder("sub").fill("alice@example.com")
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url("**/studio/characters/")
    assert get_user_model().objects.count() == 1
    assert SocialAccount.objects.get().user_id == user.pk

    page.goto(f"{live_server.url}/accounts/profile/")
    expect(page.get_by_text("Team SSO: alice@example.com")).to_be_visible()


def test_a_denied_authorization_says_so_and_signs_nobody_in(page, live_server, sso):
    from django.contrib.auth import get_user_model

    start_sign_in(page, live_server.url)
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_role("heading", name="Login cancelled")).to_be_visible()
    expect(page.get_by_text("denied or cancelled at the provider")).to_be_visible()
    assert not get_user_model().objects.exists()
    page.get_by_role("link", name="Back to log in").click()
    expect(page.get_by_role("link", name="Continue with Team SSO")).to_be_visible()
