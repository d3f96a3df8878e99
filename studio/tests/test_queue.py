from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection, connections
from django.utils import timezone

from studio.generation import (
    JobOptions,
    JobSpec,
    QuotaExceededError,
    RetryRefusedError,
    queue_character_portraits,
    queue_jobs,
    recover_expired_jobs,
    retry_portrait,
    run_portrait_job,
    usage_today,
)
from studio.models import Batch, Portrait
from studio.providers.base import ErrorKind
from studio.tests.factories import CharacterFactory, PortraitFactory, UserFactory
from studio.tests.fakes import openai_error

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
