from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

LABELS = (
    "Stop and queue nothing",
    "Use a cheaper quality of the same model",
    "Use the offline painter (free)",
)


def checked(page: str) -> list[str]:
    """The values of the checked budget_fallback radio buttons."""
    return re.findall(r'name="budget_fallback" value="(\w+)"\s+id="[^"]+" required checked', page)


def test_the_account_page_offers_the_three_budget_fallbacks_with_the_current_one_chosen(
    logged_in_client, user, settings
):
    settings.DAILY_IMAGE_LIMIT, settings.DAILY_SPEND_LIMIT_USD = 40, "2.00"
    page = logged_in_client.get(reverse("account_profile")).text
    assert "queue 40 images and spend $2.00 a day" in page
    assert "When a job would pass my daily spend limit" in page
    assert all(label in page for label in LABELS)
    assert checked(page) == ["stop"]
    assert f'action="{reverse("account_budget")}"' in page
    assert reverse("studio:usage") in page


def test_it_saves_the_choice_and_says_so(logged_in_client, user):
    response = logged_in_client.post(reverse("account_budget"), {"budget_fallback": "painter"}, follow=True)
    user.refresh_from_db()
    assert user.budget_fallback == "painter"
    assert f"Saved. When a job would pass your daily spend limit: {LABELS[2]}." in response.text
    assert checked(response.text) == ["painter"]


def test_an_unknown_choice_is_refused_with_a_message_and_changes_nothing(logged_in_client, user):
    response = logged_in_client.post(reverse("account_budget"), {"budget_fallback": "borrow"})
    assert response.status_code == 400
    assert "Select a valid choice. borrow is not one of the available choices." in response.text
    user.refresh_from_db()
    assert user.budget_fallback == "stop"


def test_it_needs_the_csrf_token_and_a_post(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(reverse("account_budget"), {"budget_fallback": "painter"}).status_code == 403
    assert client.get(reverse("account_budget")).status_code == 405
    user.refresh_from_db()
    assert user.budget_fallback == "stop"
