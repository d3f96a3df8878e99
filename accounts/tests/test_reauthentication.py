"""Deleting the account and creating an API token ask for the password again (allauth reauthentication)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.models import ApiToken


def test_it_asks_for_the_password_before_deleting_the_account_then_finishes_the_deletion(
    logged_in_client, user
):
    response = logged_in_client.post(reverse("account_delete"), {"confirm_email": user.email})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert get_user_model().objects.filter(pk=user.pk).exists()

    wrong = logged_in_client.post(response["Location"], {"password": "not-my-password"})
    assert wrong.status_code == 200 and get_user_model().objects.filter(pk=user.pk).exists()

    done = logged_in_client.post(response["Location"], {"password": "correct-horse-battery"}, follow=True)
    assert not get_user_model().objects.filter(pk=user.pk).exists()  # the suspended request was replayed
    assert "Your account, characters and portraits were deleted." in done.text


def test_it_asks_for_the_password_before_creating_an_api_token(logged_in_client, user):
    url = reverse("account_api_token")
    assert logged_in_client.get(url).status_code == 200  # looking needs no password
    response = logged_in_client.post(url, {})
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not ApiToken.objects.filter(user=user).exists()
    created = logged_in_client.post(response["Location"], {"password": "correct-horse-battery"}, follow=True)
    assert ApiToken.objects.filter(user=user).exists()
    assert 'id="api-token-value"' in created.text


def test_it_lets_an_account_without_a_password_create_a_token(client, user):
    # Social sign-in only: there is no password to ask for.
    user.set_unusable_password()
    user.save()
    client.force_login(user)
    created = client.post(reverse("account_api_token"), {}, follow=True)
    assert created.redirect_chain == [(reverse("account_api_token"), 302)]
    assert ApiToken.objects.filter(user=user).exists()
    assert 'id="api-token-value"' in created.text
