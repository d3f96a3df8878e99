from __future__ import annotations

import pytest
from django.urls import reverse

from studio.imports.tests.test_imports_views import _commit, _job, _upload
from studio.portraits.models import Portrait

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("fallback", "said", "providers"),
    [
        (
            "painter",
            "1 would have passed your daily spending limit, so it was made with the offline painter",
            ["local", "openai"],
        ),
        (
            "cheaper",
            "1 would have passed your daily spending limit, so it was made with a cheaper quality",
            ["openai", "openai"],
        ),
    ],
)
def test_portraits_for_an_import_say_when_the_budget_fallback_changed_them(
    logged_in_client, user, htmx_headers, settings, fake_openai, fallback, said, providers
):
    settings.DEFAULT_IMAGE_PROVIDER = "openai"
    settings.DAILY_SPEND_LIMIT_USD = "0.25"  # one gpt-image-2 image at its default (high) quality: $0.211
    user.budget_fallback = fallback
    user.save(update_fields=["budget_fallback"])
    _upload(logged_in_client, headers=htmx_headers)
    job = _job(user)
    _commit(logged_in_client, job, {}, htmx_headers)
    page = logged_in_client.post(reverse("studio:import_portraits", args=[job.pk]), **htmx_headers).text
    assert "2 portraits queued." in page and said in page
    assert sorted(Portrait.objects.values_list("provider", flat=True)) == providers
