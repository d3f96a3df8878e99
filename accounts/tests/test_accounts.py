from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_shows_anonymous_visitors_the_landing_page(client):
    response = client.get("/")
    assert "Create characters. Watch them take shape." in response.text
    assert reverse("account_signup") in response.text


def test_it_sends_logged_in_users_from_the_landing_page_to_their_characters(logged_in_client):
    response = logged_in_client.get("/")
    assert response["Location"] == reverse("studio:character_list")


def test_it_signs_up_with_an_email_address_as_the_login(client):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "New.Writer@Example.com",
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
        },
    )
    assert response.status_code == 302
    user = get_user_model().objects.get()
    assert user.email.lower() == "new.writer@example.com"
    assert user.check_password("a-long-pass-phrase-9")
    assert len(mail.outbox) == 1  # verification email, optional by default


def test_it_logs_in_with_email_and_password(client, user):
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert client.get(reverse("studio:character_list")).status_code == 200


def test_it_explains_a_wrong_password(client, user):
    response = client.post(reverse("account_login"), {"login": user.email, "password": "nope"})
    assert response.status_code == 200
    assert "not correct" in response.text


def test_it_styles_the_allauth_pages_like_the_rest_of_the_app(client):
    for name in ("account_login", "account_signup", "account_reset_password"):
        response = client.get(reverse(name))
        assert "form-control" in response.text, name
        assert "Dali Studio" in response.text, name
        assert 'hx-headers=\'{"x-csrftoken"' in response.text, name


def test_it_rate_limits_failed_logins(client, user, settings):
    for _ in range(6):
        response = client.post(reverse("account_login"), {"login": user.email, "password": "wrong"})
    assert response.status_code == 429 or "Too many failed login attempts" in response.text


def test_it_logs_out_with_a_post(logged_in_client):
    response = logged_in_client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert logged_in_client.get(reverse("studio:character_list")).status_code == 302


def test_it_shows_the_users_menu_in_the_navbar(logged_in_client, user):
    response = logged_in_client.get(reverse("studio:character_list"))
    assert user.email in response.text
    assert reverse("account_logout") in response.text


def test_with_signup_switched_off_nobody_can_make_an_account_and_the_page_says_so(client, settings):
    settings.ACCOUNT_ALLOW_SIGNUP = False
    page = client.get(reverse("account_signup"))
    assert 'id="signup-closed"' in page.text
    assert "This studio is not taking new accounts at the moment" in page.text
    response = client.post(
        reverse("account_signup"),
        {
            "email": "new@example.com",
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
        },
    )
    assert "This studio is not taking new accounts at the moment" in response.text
    assert not get_user_model().objects.exists()
    assert len(mail.outbox) == 0
    # Nothing offers it any more; logging in still works.
    home = client.get("/").text
    assert reverse("account_signup") not in home and "Create a free account" not in home
    assert reverse("account_login") in home


def test_with_signup_switched_off_a_first_social_login_makes_no_account(client, settings, rf):
    from allauth.account.models import EmailAddress
    from allauth.socialaccount.adapter import get_adapter
    from allauth.socialaccount.models import SocialAccount, SocialLogin

    from site_config.settings import social_providers

    settings.ACCOUNT_ALLOW_SIGNUP = False
    settings.SOCIALACCOUNT_PROVIDERS = social_providers(
        oidc=("o-id", "o-secret"), oidc_server_url="http://127.0.0.1:1/", oidc_name="Team SSO"
    )
    pending = SocialLogin(
        provider=get_adapter().get_provider(rf.get("/"), "oidc"),
        user=get_user_model()(email="newcomer@example.com"),
        account=SocialAccount(provider="oidc", uid="newcomer", extra_data={}),
        email_addresses=[EmailAddress(email="newcomer@example.com", verified=True, primary=True)],
    )
    session = client.session
    session["socialaccount_sociallogin"] = pending.serialize()
    session.save()
    response = client.post(reverse("socialaccount_signup"), {"email": "newcomer@example.com"})
    assert "This studio is not taking new accounts at the moment" in response.text
    assert not get_user_model().objects.exists()


def test_signup_is_open_by_default_and_offered_everywhere(client):
    home = client.get("/").text
    assert "Create a free account" in home and 'class="btn btn-primary btn-signup' in home
    assert "new accounts" not in client.get(reverse("account_signup")).text
