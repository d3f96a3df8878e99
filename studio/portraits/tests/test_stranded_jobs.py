"""A worker killed after taking a task row but before claiming its portrait: the job is sent again."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from studio.portraits.generation import JobOptions, JobSpec, queue_jobs
from studio.portraits.jobs import run_portrait_job
from studio.portraits.models import Portrait
from studio.portraits.tasks import recover_expired_jobs

pytestmark = pytest.mark.django_db


def _taken_by_a_worker_that_died(portrait: Portrait, *, ago: timedelta) -> DBTaskResult:
    task = DBTaskResult.objects.get(pk=portrait.task_id)
    task.claim("worker-that-died")  # django-tasks' claim; the worker dies before Portrait.claim
    then = timezone.now() - ago
    DBTaskResult.objects.filter(pk=task.pk).update(started_at=then)
    Portrait.objects.filter(pk=portrait.pk).update(queued_at=then)
    return task


@pytest.fixture
def stranded(user, settings, fake_openai):
    settings.PORTRAIT_LEASE_SECONDS = 60
    [portrait] = queue_jobs(user, [JobSpec("a fox")], JobOptions("openai"))
    task = _taken_by_a_worker_that_died(portrait, ago=timedelta(seconds=120))
    return portrait, task


def test_it_sends_a_job_again_whose_task_a_worker_lost_before_starting_it(stranded, fake_openai):
    portrait, lost = stranded
    recovery = recover_expired_jobs()
    assert recovery.resent == [portrait.pk]
    portrait.refresh_from_db()
    assert portrait.status == Portrait.Status.QUEUED and portrait.task_id != str(lost.pk)
    assert DBTaskResult.objects.get(pk=lost.pk).status == "FAILED"  # no longer shown running for ever
    assert DBTaskResult.objects.get(pk=portrait.task_id).status == "READY"
    # Paid, yet never sent: the new task runs it once.
    run_portrait_job(portrait.pk)
    assert Portrait.objects.get(pk=portrait.pk).status == Portrait.Status.SUCCEEDED
    assert len(fake_openai.requests) == 1
    assert recover_expired_jobs().resent == []


def test_it_leaves_a_task_a_worker_took_moments_ago(user, settings):
    settings.PORTRAIT_LEASE_SECONDS = 60
    [portrait] = queue_jobs(user, [JobSpec("a fox")], JobOptions("local", size="64x64"))
    _taken_by_a_worker_that_died(portrait, ago=timedelta(seconds=5))
    assert recover_expired_jobs().resent == []
    assert Portrait.objects.get(pk=portrait.pk).task_id == portrait.task_id


def test_the_cli_sends_stranded_jobs_again(stranded):
    out = StringIO()
    call_command("studio", "recover-jobs", stdout=out)
    assert "sent 1 queued job(s) again" in out.getvalue()
