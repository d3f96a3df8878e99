from __future__ import annotations

import os
import threading
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from studio.portraits.generation import (
    JobOptions,
    JobSpec,
    QuotaExceededError,
    RetryRefusedError,
    queue_character_portrait,
    queue_character_portraits,
    queue_jobs,
    retry_portrait,
    usage_today,
)
from studio.portraits.jobs import run_portrait_job
from studio.portraits.models import Batch, Portrait
from studio.portraits.providers.base import (
    ErrorKind,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    Provider,
    ProviderError,
)
from studio.portraits.tasks import recover_expired_jobs
from studio.tests.factories import CharacterFactory, PortraitFactory, UserFactory
from studio.tests.fakes import openai_error, png_bytes

pytestmark = pytest.mark.django_db


def _expire(portrait: Portrait) -> None:
    Portrait.objects.filter(pk=portrait.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


def test_it_queues_n_variations_with_consecutive_seeds_in_one_batch(user):
    character = CharacterFactory(owner=user)
    portraits = queue_character_portraits(character, count=3, seed=100)
    assert [p.seed for p in portraits] == [100, 101, 102]
    batch = Batch.objects.get()
    assert batch.character == character
    assert batch.progress().total == 3
    assert batch.progress().queued == 3


def test_it_records_the_estimated_cost_from_the_price_table(user, fake_openai):
    portraits = queue_jobs(
        user, [JobSpec("a lighthouse")] * 2, JobOptions("openai", "gpt-image-1-mini", "1024x1024", "low")
    )
    assert [p.estimated_cost for p in portraits] == [Decimal("0.005"), Decimal("0.005")]
    assert portraits[0].parameters["quality"] == "low"


def test_it_checks_every_prompt_length_before_queueing_anything(user):
    with pytest.raises(ValueError, match="limit"):
        queue_jobs(user, [JobSpec("short"), JobSpec("x" * 20000)], JobOptions("local"))
    assert not Portrait.objects.exists()


def test_a_worker_that_died_mid_job_has_its_free_job_picked_up_again(user):
    from django_tasks_db.models import DBTaskResult

    portrait = queue_character_portraits(CharacterFactory(owner=user))[0]
    lost_task = DBTaskResult.objects.get(pk=portrait.task_id)
    lost_task.claim("worker-that-dies")
    assert portrait.mark_running() is not None  # the worker claimed it, then died
    assert recover_expired_jobs().requeued == []  # the lease has not expired yet
    _expire(portrait)
    assert recover_expired_jobs().requeued == [portrait.pk]
    portrait.refresh_from_db()
    assert portrait.status == "queued"
    lost_task.refresh_from_db()
    assert lost_task.status == "FAILED" and "worker running this task stopped" in lost_task.traceback
    assert DBTaskResult.objects.get(pk=portrait.task_id).status == "READY"  # a new task runs it again
    assert run_portrait_job(portrait.pk) == "succeeded"
    portrait.refresh_from_db()
    assert portrait.attempts == 2
    assert [entry["outcome"] for entry in portrait.history] == ["lease expired", "succeeded"]


def test_a_lost_paid_job_is_failed_as_interrupted_rather_than_billed_twice(user, fake_openai):
    from django_tasks_db.models import DBTaskResult

    portrait = queue_jobs(user, [JobSpec("a fox")], JobOptions("openai"))[0]
    DBTaskResult.objects.get(pk=portrait.task_id).claim("worker-that-dies")
    portrait.mark_running()
    _expire(portrait)
    assert recover_expired_jobs().interrupted == [portrait.pk]
    assert DBTaskResult.objects.get(pk=portrait.task_id).status == "FAILED"
    assert not DBTaskResult.objects.filter(status="READY").exists()  # never sent again by itself
    portrait.refresh_from_db()
    assert portrait.status == "failed"
    assert portrait.error_kind == "interrupted"
    assert "may already have been billed" in portrait.error_message
    assert portrait.can_retry
    assert fake_openai.requests == []


def test_the_lost_attempt_can_still_deliver_its_image_but_only_once(user):
    portrait = queue_character_portraits(CharacterFactory(owner=user))[0]
    stale_claim = portrait.mark_running()
    _expire(portrait)
    recover_expired_jobs()
    assert run_portrait_job(portrait.pk) == "succeeded"  # a second worker did the job again
    portrait.refresh_from_db()
    image = portrait.image.name
    # The first worker wakes up and tries to store its image under its stale claim.
    assert not portrait.store_image(Portrait.objects.get(pk=portrait.pk).image.read(), {}, claim=stale_claim)
    portrait.refresh_from_db()
    assert portrait.image.name == image
    stored = list(Path(portrait.image.storage.path("portraits")).glob("*.png"))
    assert len(stored) == 1, "the discarded image left no file behind"


def test_it_never_runs_a_job_that_two_workers_race_for(user):
    portrait = queue_character_portraits(CharacterFactory(owner=user))[0]
    assert portrait.mark_running() is not None
    assert Portrait.objects.get(pk=portrait.pk).mark_running() is None
    assert run_portrait_job(portrait.pk) == "skipped"


def test_it_cancels_a_queued_job_but_not_a_running_one(user):
    first, second = queue_character_portraits(CharacterFactory(owner=user), count=2)
    assert first.cancel()
    assert run_portrait_job(first.pk) == "skipped"
    second.mark_running()
    assert not Portrait.objects.get(pk=second.pk).cancel()


def test_it_retries_a_transient_failure_on_the_same_record(user, fake_openai, settings):
    fake_openai.push(
        openai_error(400, "Your request was rejected by the safety system.", code="content_policy_violation")
    )
    fake_openai.push(*[openai_error(503, "overloaded", type="server_error")] * 3)
    moderated, flaky = queue_jobs(user, [JobSpec("one"), JobSpec("two")], JobOptions("openai"))
    settings.PROVIDER_RETRY_BASE_DELAY = settings.PROVIDER_RETRY_MAX_DELAY = 0
    run_portrait_job(moderated.pk)
    run_portrait_job(flaky.pk)
    moderated.refresh_from_db()
    flaky.refresh_from_db()
    assert moderated.error_kind == ErrorKind.MODERATION
    assert not moderated.can_retry
    with pytest.raises(RetryRefusedError, match="Remix"):
        retry_portrait(moderated)
    assert flaky.error_kind == ErrorKind.TRANSIENT and flaky.can_retry
    retry_portrait(flaky)
    flaky.refresh_from_db()
    assert flaky.status == "queued"
    assert run_portrait_job(flaky.pk) == "succeeded"
    flaky.refresh_from_db()
    assert flaky.attempts == 2
    moderated.refresh_from_db()
    assert moderated.status == "failed", "retrying one job never touches another"


def test_a_failed_job_never_touches_an_earlier_good_portrait(user, fake_openai):
    character = CharacterFactory(owner=user)
    good = queue_character_portraits(character)[0]
    run_portrait_job(good.pk)
    good.refresh_from_db()
    fake_openai.push(openai_error(401, "Incorrect API key provided", code="invalid_api_key"))
    bad = queue_character_portraits(character, JobOptions("openai"))[0]
    assert run_portrait_job(bad.pk) == "failed"
    after = Portrait.objects.get(pk=good.pk)
    assert (after.status, after.image.name) == ("succeeded", good.image.name)
    assert after.image.storage.exists(after.image.name)


def test_it_enforces_the_daily_image_limit(user, settings):
    settings.DAILY_IMAGE_LIMIT = 3
    character = CharacterFactory(owner=user)
    queue_character_portraits(character, count=2)
    with pytest.raises(QuotaExceededError, match="daily limit of 3 images: 2 queued today, 1 left"):
        queue_character_portraits(character, count=2)
    assert Portrait.objects.count() == 2


def test_it_enforces_the_daily_spend_limit(user, settings, fake_openai):
    settings.DAILY_SPEND_LIMIT_USD = "0.10"
    options = JobOptions("openai", "gpt-image-2", "1024x1024", "medium")  # $0.053 each
    queue_jobs(user, [JobSpec("one")], options)
    with pytest.raises(QuotaExceededError, match=r"daily spending limit of \$0.10"):
        queue_jobs(user, [JobSpec("two")], options)
    assert usage_today(user).spend == Decimal("0.053")


def test_cancelled_and_refused_jobs_do_not_count_towards_the_limits(user):
    character = CharacterFactory(owner=user)
    PortraitFactory(character=character, status="cancelled")
    PortraitFactory(character=character, status="failed", error_kind="moderation")
    PortraitFactory(character=character, status="failed", error_kind="interrupted")
    assert usage_today(user).images == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_tabs_cannot_double_spend_the_daily_limit(settings):
    settings.DAILY_IMAGE_LIMIT = 5
    owner = UserFactory()
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def tab() -> None:
        try:
            barrier.wait()
            queue_jobs(owner, [JobSpec("a"), JobSpec("b")], JobOptions("local", size="64x64"))
            outcomes.append("queued")
        except QuotaExceededError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tab) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["queued"] * 2 + ["refused"] * 4
    assert Portrait.objects.filter(owner=owner).count() == 4


def test_the_cli_recovers_expired_jobs(user):
    from io import StringIO

    from django.core.management import call_command

    portrait = queue_character_portraits(CharacterFactory(owner=user))[0]
    portrait.mark_running()
    _expire(portrait)
    out = StringIO()
    call_command("studio", "recover-jobs", stdout=out)
    assert "Re-queued 1 job(s)" in out.getvalue()
    assert Portrait.objects.get(pk=portrait.pk).status == "queued"


@pytest.mark.django_db(transaction=True)
def test_a_batch_and_its_tasks_are_committed_together(user):
    from django.core.management import call_command
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    specs = [JobSpec(f"prompt {n}", seed=n) for n in range(3)]
    with pytest.raises(RuntimeError), transaction.atomic():
        queue_jobs(user, specs, JobOptions("local", size="64x64"))
        raise RuntimeError("the request failed after queueing")
    assert not Portrait.objects.exists() and not DBTaskResult.objects.exists()

    with transaction.atomic():
        portraits = queue_jobs(user, specs, JobOptions("local", size="64x64"))
        # Written in the same transaction, not after it: one commit for the batch.
        assert DBTaskResult.objects.filter(pk__in=[p.task_id for p in portraits]).count() == 3
    tasks = {str(task.pk): task.args_kwargs["args"] for task in DBTaskResult.objects.all()}
    assert {p.task_id: [p.pk] for p in Portrait.objects.all()} == tasks and len(tasks) == 3
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0")
    assert sorted(Portrait.objects.values_list("status", flat=True)) == ["succeeded"] * 3
    assert {p.pk for p in portraits} == set(Portrait.objects.values_list("pk", flat=True))


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="synchronous_commit is PostgreSQL's")
def test_only_the_task_rows_claim_skips_the_wait_for_the_disk(user):
    """django-tasks' claim of its own row commits asynchronously; the portraits never do."""
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    def synchronous_commit() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    with transaction.atomic():
        [portrait] = queue_jobs(user, [JobSpec("a lighthouse")], JobOptions("local", size="64x64"))
        assert synchronous_commit() == "on"  # the new jobs and their task rows commit durably
    task_row = DBTaskResult.objects.get(pk=portrait.task_id)
    with transaction.atomic():
        task_row.claim("worker-1")
        assert synchronous_commit() == "off"  # for this transaction only
    assert synchronous_commit() == "on"
    assert run_portrait_job(portrait.pk) == "succeeded"
    task_row.set_successful("succeeded")
    assert synchronous_commit() == "on"
    assert DBTaskResult.objects.get(pk=task_row.pk).status == "SUCCESSFUL"


# Visibility of new jobs.


def test_new_portraits_of_a_public_character_go_to_the_community_gallery(user, client, other_user):
    public = CharacterFactory(owner=user, visibility="public")
    private = CharacterFactory(owner=user)
    shown = queue_character_portrait(public, size="64x64")
    [batch_job, _] = queue_jobs(
        user, [JobSpec("a"), JobSpec("b")], JobOptions("local", size="64x64"), character=public
    )
    hidden = queue_character_portrait(private, size="64x64")
    assert Portrait.objects.get(pk=shown.pk).is_public
    assert Portrait.objects.get(pk=batch_job.pk).is_public
    assert not Portrait.objects.get(pk=hidden.pk).is_public
    for portrait in (shown, hidden):
        run_portrait_job(portrait.pk)
    client.force_login(other_user)
    assert client.get(reverse("studio:community_portrait", args=[shown.pk])).status_code == 200
    assert client.get(reverse("studio:community_portrait", args=[hidden.pk])).status_code == 404


# Daily limits count every attempt on the day it was queued.


def _queued_yesterday(portrait: Portrait) -> None:
    yesterday = timezone.now() - timedelta(days=1)
    Portrait.objects.filter(pk=portrait.pk).update(created_at=yesterday, queued_at=yesterday)


def test_retrying_yesterdays_failed_job_counts_today(user, settings):
    settings.DAILY_IMAGE_LIMIT = 2
    old = PortraitFactory(character=CharacterFactory(owner=user), status="failed", error_kind="transient")
    _queued_yesterday(old)
    assert usage_today(user).images == 0
    retry_portrait(old)
    assert usage_today(user).images == 1, "the retry is today's image"
    queue_character_portrait(old.character, size="64x64")
    assert usage_today(user).images == 2
    Portrait.objects.filter(pk=old.pk).update(status="failed", error_kind="transient")
    with pytest.raises(QuotaExceededError) as refused:
        retry_portrait(Portrait.objects.get(pk=old.pk))
    assert "A retry counts as a new image, and it would pass your daily limit of 2 images" in str(
        refused.value
    )
    assert "2 queued today, 0 left" in str(refused.value)
    assert Portrait.objects.get(pk=old.pk).status == "failed", "nothing was queued"


def test_every_retry_of_todays_job_counts_but_attempts_that_made_nothing_do_not(user, settings, fake_openai):
    settings.DAILY_SPEND_LIMIT_USD = "1.00"
    options = JobOptions("openai", "gpt-image-2", "1024x1024", "medium")  # $0.053 each
    [job] = queue_jobs(user, [JobSpec("a fox")], options)
    for kind, expected_images in (("transient", 2), ("rate_limited", 2), ("interrupted", 3)):
        Portrait.objects.filter(pk=job.pk).update(status="failed", error_kind=kind)
        retry_portrait(Portrait.objects.get(pk=job.pk))
        assert usage_today(user).images == expected_images, kind
    assert usage_today(user).spend == Decimal("0.053") * 3
    Portrait.objects.get(pk=job.pk).cancel()
    assert usage_today(user).images == 2, "the cancelled attempt made nothing; the earlier ones stand"


# Leases are renewed before every retry.


class FlakyProvider(Provider):
    """A paid provider whose attempts run the test's script: each step raises or returns image bytes."""

    name = "flaky"
    label = "Flaky"
    default_model_fallback = "flaky-1"
    models = (("flaky-1", "Flaky 1"),)
    script: list = []

    def is_configured(self) -> bool:
        return True

    def _generate(self, request: GenerationRequest, model: str) -> GenerationResult:
        def attempt() -> GeneratedImage:
            return GeneratedImage(FlakyProvider.script.pop(0)(), "png")

        return GenerationResult([self.with_retries(attempt)], self.name, model)


@pytest.fixture
def flaky(settings, monkeypatch):
    from studio.portraits import providers

    monkeypatch.setitem(providers.PROVIDERS, "flaky", f"{__name__}:FlakyProvider")
    settings.IMAGE_PROVIDERS = [*settings.IMAGE_PROVIDERS, "flaky"]
    settings.PROVIDER_RETRY_BASE_DELAY = settings.PROVIDER_RETRY_MAX_DELAY = 0
    FlakyProvider.script = []
    return FlakyProvider.script


def _overloaded() -> bytes:
    raise ProviderError(ErrorKind.TRANSIENT, "overloaded", detail="503")


def test_a_retrying_worker_renews_its_lease_under_the_same_claim(user, flaky, settings):
    settings.PORTRAIT_LEASE_SECONDS = 600
    [job] = queue_jobs(user, [JobSpec("a fox")], JobOptions("flaky"))
    seen: list[tuple] = []

    def first_attempt() -> bytes:
        # The provider was slow to fail: the lease is nearly up when the worker tries again.
        Portrait.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() + timedelta(seconds=1))
        seen.append(Portrait.objects.values_list("claim_token", "lease_expires_at").get(pk=job.pk))
        return _overloaded()

    def second_attempt() -> bytes:
        seen.append(Portrait.objects.values_list("claim_token", "lease_expires_at").get(pk=job.pk))
        return png_bytes()

    flaky += [first_attempt, second_attempt]
    assert run_portrait_job(job.pk) == "succeeded"
    (claim, nearly_up), (same_claim, renewed) = seen
    assert same_claim == claim
    assert renewed - nearly_up > timedelta(seconds=590)
    assert Portrait.objects.get(pk=job.pk).attempts == 1, "one job attempt, two provider tries"


def test_a_stale_claim_cannot_renew_the_lease_nor_send_again(user, flaky):
    [job] = queue_jobs(user, [JobSpec("a fox")], JobOptions("flaky"))

    def attempt_during_which_the_worker_is_presumed_dead() -> bytes:
        _expire(job)
        assert recover_expired_jobs().interrupted == [job.pk]
        return _overloaded()

    def second_attempt() -> bytes:
        raise AssertionError("a request was sent under a lost claim")

    flaky += [attempt_during_which_the_worker_is_presumed_dead, second_attempt]
    assert run_portrait_job(job.pk) == "abandoned"
    assert len(flaky) == 1, "the second attempt never ran"
    portrait = Portrait.objects.get(pk=job.pk)
    assert (portrait.status, portrait.error_kind, portrait.lease_expires_at) == (
        "failed",
        "interrupted",
        None,
    )
    stale_claim = portrait.claim_token
    assert not portrait.renew_lease(stale_claim), "an interrupted job has no lease to renew"
    retry_portrait(portrait)
    assert portrait.mark_running() is not None
    assert not portrait.renew_lease(stale_claim), "nor can the old claim renew the new attempt's lease"
    assert portrait.renew_lease(portrait.claim_token)


@pytest.mark.skipif("PORTRAIT_LEASE_SECONDS" in os.environ, reason="the lease is set explicitly")
def test_the_default_lease_covers_a_whole_job_of_retries(settings):
    from studio.portraits.providers import available_providers
    from studio.portraits.providers.base import CONNECT_TIMEOUT

    paid = [provider for provider in available_providers() if provider.retries]
    attempts = max(provider.max_attempts for provider in paid)
    longest_answer = max(provider.timeout for provider in paid)
    longest_wait = max(provider.max_delay for provider in paid)  # Hugging Face's covers a model loading
    worst_case = attempts * (CONNECT_TIMEOUT + longest_answer) + (attempts - 1) * longest_wait
    assert worst_case + 60 <= settings.PORTRAIT_LEASE_SECONDS


# The RQ backend can refuse a job after the batch was committed.


@pytest.fixture
def redis_down(settings):
    pytest.importorskip("django_tasks_rq", reason='the RQ backend is optional: pip install ".[rq]"')
    # Nothing listens on port 1: every enqueue fails to connect, as when Redis is down.
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0", "DEFAULT_TIMEOUT": 60}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}


def test_jobs_the_queue_refuses_fail_with_retry_and_do_not_count(
    logged_in_client, user, redis_down, django_capture_on_commit_callbacks, caplog
):
    data = {"provider": "local", "model": "painter-v1", "size": "512x512"}
    data |= {"prompt": ["a lighthouse", "a fox"], "negative_prompt": ["", ""], "seed": ["", ""]}
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in_client.post(reverse("studio:quick_generate"), data)
    assert response.status_code == 302
    jobs = list(Portrait.objects.all())
    assert [(job.status, job.error_kind) for job in jobs] == [("failed", "queue_unavailable")] * 2
    assert all(job.can_retry and not job.task_id for job in jobs)
    assert "queue is unavailable" in jobs[0].error_message and "Retry" in jobs[0].error_message
    assert usage_today(user).images == 0
    assert "generation.enqueue_failed" in caplog.text
    page = logged_in_client.get(jobs[0].get_absolute_url())
    assert "queue is unavailable" in page.text


# Late answers.


def test_a_late_answer_for_an_interrupted_paid_job_is_kept_once(user, fake_openai):
    [job] = queue_jobs(user, [JobSpec("a fox")], JobOptions("openai"))
    claim = job.mark_running()
    _expire(job)
    assert recover_expired_jobs().interrupted == [job.pk]
    # The lost attempt answers after all: it was billed, so its image is kept rather than thrown away.
    late = Portrait.objects.get(pk=job.pk)
    assert late.store_image(png_bytes(), {}, claim=claim)
    portrait = Portrait.objects.get(pk=job.pk)
    assert (portrait.status, portrait.error_kind, portrait.error_message) == ("succeeded", "", "")
    assert portrait.history[-1]["outcome"] == "succeeded"
    assert not Portrait.objects.get(pk=job.pk).store_image(png_bytes(), {}, claim=claim)
    assert Portrait.objects.get(pk=job.pk).image.name == portrait.image.name
    stored = list(Path(portrait.image.storage.path("portraits")).glob("*.png"))
    assert len(stored) == 1, "the second answer left no file behind"
