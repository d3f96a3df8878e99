"""The studio-wide daily spend cap, paid providers for verified addresses, and images made outside the queue
(patterns) counting against the daily image limit."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connections
from django.urls import reverse

from studio.portraits.generation import (
    GenerationInputError,
    JobOptions,
    JobSpec,
    QuotaExceededError,
    queue_jobs,
    studio_spend_today,
)
from studio.portraits.models import Portrait
from studio.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PAID = JobOptions("openai", "gpt-image-2", "1024x1024", "medium")  # $0.053 each


def test_it_stops_every_user_at_the_studios_daily_spend_limit(settings, fake_openai):
    settings.STUDIO_DAILY_SPEND_LIMIT = "0.10"
    first, second = UserFactory(), UserFactory()
    queue_jobs(first, [JobSpec("one")], PAID)
    with pytest.raises(QuotaExceededError, match=r"studio's daily spending limit of \$0.10 for all users"):
        queue_jobs(second, [JobSpec("two")], PAID)
    assert studio_spend_today() == Decimal("0.053")
    # The free painter is never held back by the studio's cap.
    queue_jobs(second, [JobSpec("two")], JobOptions("local", size="64x64"))


def test_it_keeps_paid_providers_for_verified_addresses(settings, fake_openai):
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"
    newcomer = UserFactory(verified=False)
    with pytest.raises(GenerationInputError, match="verify your email address first"):
        queue_jobs(newcomer, [JobSpec("a fox")], PAID)
    assert not Portrait.objects.exists()
    queue_jobs(newcomer, [JobSpec("a fox")], JobOptions("local", size="64x64"))
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"  # signing in already proves the address
    queue_jobs(newcomer, [JobSpec("a fox")], PAID)


def test_it_tells_an_unverified_user_on_the_page(client, settings, fake_openai):
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"
    client.force_login(UserFactory(verified=False))
    response = client.post(
        reverse("studio:quick_generate"),
        {"prompt": "a fox", "provider": "openai", "model": "gpt-image-2", "size": "1024x1024"},
        follow=True,
    )
    assert "OpenAI is a paid provider: verify your email address first" in response.text
    assert not Portrait.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_many_users_at_once_cannot_pass_the_studios_limit(settings, fake_openai):
    # Threads on their own connections: a row lock per user cannot serialise them, the studio's lock must.
    settings.STUDIO_DAILY_SPEND_LIMIT = "0.20"  # room for 3 of the 6 jobs at $0.053
    users = [UserFactory() for _ in range(6)]
    barrier = threading.Barrier(len(users))
    outcomes: list[str] = []

    def queue(owner) -> None:
        try:
            barrier.wait()
            queue_jobs(owner, [JobSpec("a")], PAID)
            outcomes.append("queued")
        except QuotaExceededError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=queue, args=(owner,)) for owner in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["queued"] * 3 + ["refused"] * 3
    assert Portrait.objects.count() == 3


def test_patterns_count_against_the_daily_image_limit(logged_in_client, user, settings):
    settings.DAILY_IMAGE_LIMIT = 1
    options = {
        "kind": "mandala",
        "width": 240,
        "height": 160,
        "primary": "#112233",
        "secondary": "#ffeedd",
        "seed": 1,
    }
    logged_in_client.post(reverse("studio:pattern_create"), options)
    response = logged_in_client.post(reverse("studio:pattern_create"), options)
    assert response.status_code == 400
    assert "would pass your daily limit of 1 images" in response.text
    assert Portrait.objects.filter(owner=user).count() == 1
