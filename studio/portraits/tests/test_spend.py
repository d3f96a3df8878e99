from __future__ import annotations

import re
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.urls import reverse

from studio.portraits.generation import (
    JobOptions,
    JobSpec,
    QuotaExceededError,
    queue_jobs,
    retry_portrait,
    usage_today,
)
from studio.portraits.jobs import run_portrait_job
from studio.portraits.models import Portrait
from studio.tests.factories import PortraitFactory, UserFactory
from studio.tests.fakes import Reply

pytestmark = pytest.mark.django_db


def visible(html: str) -> str:
    """The page's text as a reader sees it: no tags, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


HIGH = JobOptions("openai", "gpt-image-2", "1024x1024", "high")  # $0.211 an image


# Booking the actual cost.


def test_it_books_the_actual_cost_from_the_openai_usage_block(user, fake_openai, logged_in_client):
    [job] = queue_jobs(user, [JobSpec("a fox")], JobOptions("openai", "gpt-image-2", "1024x1024", "low"))
    assert run_portrait_job(job.pk) == "succeeded"
    portrait = Portrait.objects.get(pk=job.pk)
    usage = portrait.parameters["usage"]
    assert usage["output_tokens"] == 196 and usage["input_tokens"] == 1
    # 196 output tokens at $30 and 1 text token at $5 per million tokens.
    assert portrait.actual_cost == Decimal("0.0059")
    assert portrait.estimated_cost == Decimal("0.006")
    page = logged_in_client.get(portrait.get_absolute_url()).text
    assert "Estimated $0.0060 · Actual $0.0059" in page


def test_it_books_the_credits_of_a_stability_call(user, fake_stability, logged_in_client):
    [job] = queue_jobs(user, [JobSpec("a fox")], JobOptions("stability", "ultra", "1:1"))
    assert run_portrait_job(job.pk) == "succeeded"
    portrait = Portrait.objects.get(pk=job.pk)
    assert portrait.parameters["usage"] == {"credits": 8.0}
    assert portrait.actual_cost == Decimal("0.08")  # 8 credits at $0.01
    assert "Actual $0.0800" in logged_in_client.get(portrait.get_absolute_url()).text


def test_the_offline_painter_books_nothing_to_pay(user):
    [job] = queue_jobs(user, [JobSpec("a fox")], JobOptions("local", size="64x64"))
    run_portrait_job(job.pk)
    assert Portrait.objects.get(pk=job.pk).actual_cost == Decimal("0")


def test_a_job_with_no_answer_yet_shows_no_actual_cost(user, logged_in_client):
    portrait = PortraitFactory(character__owner=user, estimated_cost=Decimal("0.211"))
    page = visible(logged_in_client.get(portrait.get_absolute_url()).text)
    assert "Estimated $0.2110 · Actual none booked" in page


def test_the_daily_spend_counts_the_actual_cost_where_known_else_the_estimate(user, settings):
    PortraitFactory(
        character__owner=user,
        status="succeeded",
        estimated_cost=Decimal("0.211"),
        actual_cost=Decimal("0.0100"),
    )
    PortraitFactory(
        character__owner=user, status="succeeded", estimated_cost=Decimal("0.053")
    )  # nothing reported
    PortraitFactory(
        character__owner=user, status="failed", error_kind="interrupted", estimated_cost=Decimal("0.2")
    )
    assert usage_today(user).spend == Decimal("0.2630")


def test_a_retry_forgets_the_earlier_attempts_actual_cost(user, fake_openai):
    portrait = PortraitFactory(
        character__owner=user,
        provider="openai",
        model="gpt-image-2",
        status="failed",
        error_kind="transient",
        estimated_cost=Decimal("0.211"),
        actual_cost=Decimal("0.0100"),
    )
    retry_portrait(portrait)
    portrait.refresh_from_db()
    assert portrait.actual_cost is None
    # The earlier attempt counts at its estimate, the new one at its estimate until it is booked.
    assert usage_today(user).spend == Decimal("0.422")


# A timed-out paid call.


def test_a_timed_out_paid_call_says_it_may_have_been_billed_and_offers_retry(
    user, fake_openai, settings, logged_in_client
):
    settings.OPENAI_TIMEOUT = 0.2
    fake_openai.push(Reply(200, {"created": 1, "data": []}, delay=1.0))
    [job] = queue_jobs(user, [JobSpec("a fox")], JobOptions("openai", "gpt-image-2", "1024x1024", "low"))
    assert run_portrait_job(job.pk) == "failed"
    portrait = Portrait.objects.get(pk=job.pk)
    assert portrait.can_retry
    assert len(fake_openai.requests) == 1, "sent once, never repeated automatically"
    retry = reverse("studio:portrait_retry", args=[portrait.pk])
    page = logged_in_client.get(portrait.get_absolute_url()).text
    assert "may have made the image and billed it" in page
    assert retry in page and "Retry</button>" in page
    card = logged_in_client.get(reverse("studio:portrait_card", args=[portrait.pk])).text
    assert retry in card and f"Retry portrait {portrait.pk}" in card
    logged_in_client.post(retry)
    assert Portrait.objects.get(pk=job.pk).status == "queued"


# The budget fallback.


def _over_budget(user, settings, fallback: str, limit: str = "0.10") -> None:
    settings.DAILY_SPEND_LIMIT_USD = limit
    user.budget_fallback = fallback
    user.save(update_fields=["budget_fallback"])


def test_stop_queues_nothing_and_says_why(user, settings, fake_openai):
    _over_budget(user, settings, "stop")
    with pytest.raises(QuotaExceededError, match=r"daily spending limit of \$0\.10"):
        queue_jobs(user, [JobSpec("a"), JobSpec("b"), JobSpec("c")], HIGH)
    assert not Portrait.objects.exists()


def test_cheaper_queues_the_dearest_quality_that_fits_and_says_so(user, settings, fake_openai):
    _over_budget(user, settings, "cheaper")
    jobs = queue_jobs(user, [JobSpec("a"), JobSpec("b"), JobSpec("c")], HIGH)
    # high: 3 x $0.211, medium: 3 x $0.053 pass $0.10; low: 3 x $0.006 fits.
    assert [(job.quality, job.estimated_cost) for job in jobs] == [("low", Decimal("0.006"))] * 3
    assert jobs.budget_notice == (
        "3 portraits would pass your $0.10 daily spending limit; made them with low quality ($0.02) instead."
    )
    assert run_portrait_job(jobs[0].pk) == "succeeded"
    assert fake_openai.last.json["quality"] == "low"


def test_cheaper_picks_medium_when_medium_fits(user, settings, fake_openai):
    _over_budget(user, settings, "cheaper", limit="0.06")
    [job] = queue_jobs(user, [JobSpec("a")], HIGH)
    assert job.quality == "medium"


def test_cheaper_stops_when_no_quality_fits(user, settings, fake_openai, fake_stability):
    _over_budget(user, settings, "cheaper", limit="0.001")
    with pytest.raises(QuotaExceededError, match="gpt-image-2 has no cheaper quality that fits"):
        queue_jobs(user, [JobSpec("a")], HIGH)
    with pytest.raises(QuotaExceededError, match="ultra has no cheaper quality that fits"):
        queue_jobs(user, [JobSpec("a")], JobOptions("stability", "ultra"))
    assert not Portrait.objects.exists()


def test_painter_makes_them_with_the_offline_painter_and_says_so(user, settings, fake_openai):
    _over_budget(user, settings, "painter")
    jobs = queue_jobs(user, [JobSpec("a"), JobSpec("b")], HIGH)
    assert [(job.provider, job.estimated_cost) for job in jobs] == [("local", Decimal("0"))] * 2
    assert jobs.budget_notice == (
        "2 portraits would pass your $0.10 daily spending limit; "
        "made them with the offline painter (free) instead."
    )
    assert run_portrait_job(jobs[0].pk) == "succeeded"
    assert fake_openai.requests == []


def test_the_fallback_leaves_jobs_within_the_limit_alone(user, settings, fake_openai):
    _over_budget(user, settings, "painter", limit="1.00")
    jobs = queue_jobs(user, [JobSpec("a")], HIGH)
    assert jobs[0].provider == "openai" and jobs.budget_notice == ""


def test_the_painter_fallback_still_keeps_the_image_limit(user, settings, fake_openai):
    _over_budget(user, settings, "painter")
    settings.DAILY_IMAGE_LIMIT = 1
    with pytest.raises(QuotaExceededError, match="daily limit of 1 images"):
        queue_jobs(user, [JobSpec("a"), JobSpec("b")], HIGH)


def test_the_generator_page_says_what_the_fallback_did(user, settings, fake_openai, logged_in_client):
    _over_budget(user, settings, "cheaper")
    data = {"provider": "openai", "model": "gpt-image-2", "size": "1024x1024", "quality": "high"}
    data |= {"prompt": ["a lighthouse", "a fox"], "negative_prompt": ["", ""], "seed": ["", ""]}
    response = logged_in_client.post(reverse("studio:quick_generate"), data, follow=True)
    assert (
        "2 portraits would pass your $0.10 daily spending limit; made them with low quality ($0.01) instead."
        in response.text
    )
    assert sorted(Portrait.objects.values_list("parameters__quality", flat=True)) == ["low", "low"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.parametrize("fallback", ["stop", "cheaper", "painter"])
def test_the_fallback_holds_when_tabs_queue_at_once(settings, fake_openai, fallback):
    owner = UserFactory(budget_fallback=fallback)
    settings.DAILY_SPEND_LIMIT_USD = "0.25"  # one high image ($0.211) fits
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def tab() -> None:
        try:
            barrier.wait()
            [job] = queue_jobs(owner, [JobSpec("a")], HIGH)
            outcomes.append(f"{job.provider} {job.quality}")
        except QuotaExceededError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tab) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Unserialised, every tab would see nothing spent and queue a high image: $0.844.
    expected = {
        "stop": ["openai high", "refused", "refused", "refused"],
        # $0.039 left after the first: low ($0.006) for each of the others.
        "cheaper": ["openai high", "openai low", "openai low", "openai low"],
        "painter": ["local ", "local ", "local ", "openai high"],
    }
    assert sorted(outcomes) == expected[fallback]
    assert usage_today(owner).spend <= Decimal("0.25")
