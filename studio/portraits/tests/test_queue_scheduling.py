"""Which job a free worker runs next: fairness between users, each user's own order, paused queues and the
providers' concurrency limits (studio.portraits.scheduling), through the worker's task where it matters."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from site_config.settings import env_limits
from studio.portraits.generation import JobOptions, JobSpec, queue_jobs
from studio.portraits.models import Portrait
from studio.portraits.queue_control import move_to_front, pause_queue, resume_queue
from studio.portraits.scheduling import claim_next
from studio.portraits.tasks import recover_expired_jobs, wake_for_freed_slot
from studio.tests.factories import PortraitFactory, UserFactory

pytestmark = pytest.mark.django_db

LOCAL = JobOptions("local", size="64x64")


def _queued(owner, count: int, *, provider: str = "local", minutes_ago: int = 0) -> list[Portrait]:
    at = timezone.now() - timedelta(minutes=minutes_ago)
    return [
        PortraitFactory(owner=owner, character=None, provider=provider, queued_at=at + timedelta(seconds=n))
        for n in range(count)
    ]


def _finish(portrait: Portrait) -> None:
    Portrait.objects.filter(pk=portrait.pk).update(
        status=Portrait.Status.SUCCEEDED, finished_at=timezone.now()
    )


def _next_owner_and_finish() -> int:
    claimed = claim_next()
    assert claimed is not None
    _finish(claimed[0])
    return claimed[0].owner_id


@pytest.fixture(autouse=True)
def _no_sweep_inside_turns(settings, monkeypatch):
    """Each turn also runs the recovery sweep at most every PORTRAIT_RECOVERY_INTERVAL: keep it out of these
    turns (whether it ran would depend on the tests before), the tests call it themselves."""
    settings.PORTRAIT_RECOVERY_INTERVAL = 3600
    monkeypatch.setattr("studio.portraits.tasks._last_sweep", time.monotonic())


def run_worker_until_idle(max_turns: int = 100) -> list[str]:
    """What `manage.py db_worker --batch` does, inside the test's transaction: run ready task rows until
    none is left. Returns each turn's result."""
    worker = Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )
    results = []
    for _ in range(max_turns):
        row = DBTaskResult.objects.ready().get_locked()
        if row is None:
            return results
        row.claim(worker.worker_id)
        worker.run_task(row)
        row.refresh_from_db()
        results.append(row.return_value)
    raise AssertionError(f"the worker was still busy after {max_turns} turns: {results[-5:]}")


# --- fairness ---------------------------------------------------------------------------------------------


def test_a_single_job_waits_for_one_busy_worker_not_for_a_long_queue_ahead_of_it():
    busy, newcomer = UserFactory(), UserFactory()
    backlog = _queued(busy, 50, minutes_ago=10)
    running = [claim_next()[0] for _ in range(2)]  # two workers, both on the busy user's jobs
    assert {job.pk for job in running} == {backlog[0].pk, backlog[1].pk}
    (single,) = _queued(newcomer, 1)
    _finish(running[0])  # the first worker to come free takes the newcomer's job
    assert claim_next()[0].pk == single.pk
    _finish(running[1])
    assert claim_next()[0].pk == backlog[2].pk


def test_one_worker_serves_users_in_turn_each_in_their_own_order():
    first, second, third = UserFactory(), UserFactory(), UserFactory()
    _queued(first, 3, minutes_ago=30)
    _queued(second, 2, minutes_ago=20)
    _queued(third, 1, minutes_ago=10)
    order = [_next_owner_and_finish() for _ in range(6)]
    a, b, c = first.pk, second.pk, third.pk
    assert order == [a, b, c, a, b, a]
    assert claim_next() is None


def test_the_user_served_longest_ago_goes_first():
    regular, returning = UserFactory(), UserFactory()
    old = PortraitFactory(owner=returning, character=None, status=Portrait.Status.SUCCEEDED)
    Portrait.objects.filter(pk=old.pk).update(started_at=timezone.now() - timedelta(days=2))
    recent = PortraitFactory(owner=regular, character=None, status=Portrait.Status.SUCCEEDED)
    Portrait.objects.filter(pk=recent.pk).update(started_at=timezone.now() - timedelta(minutes=1))
    _queued(regular, 1, minutes_ago=5)
    (theirs,) = _queued(returning, 1)
    assert claim_next()[0].pk == theirs.pk


def test_a_job_moved_to_the_front_starts_next_among_its_owners_jobs():
    owner = UserFactory()
    jobs = _queued(owner, 4)
    assert move_to_front(jobs[2])
    assert move_to_front(jobs[3])
    assert [claim_next()[0].pk for _ in range(4)] == [jobs[3].pk, jobs[2].pk, jobs[0].pk, jobs[1].pk]


def test_a_started_job_cannot_be_moved_to_the_front():
    owner = UserFactory()
    (job,) = _queued(owner, 1)
    claim_next()
    assert not move_to_front(job)


def test_the_turn_records_which_task_runs_the_job_so_recovery_closes_that_task_row(user):
    (job,) = _queued(user, 1)
    claimed, _ = claim_next(task_id="9f6b2a4e-0000-4000-8000-000000000001")
    assert claimed.pk == job.pk and claimed.task_id == "9f6b2a4e-0000-4000-8000-000000000001"


# --- pause and resume ---------------------------------------------------------------------------------


def test_a_paused_users_jobs_are_skipped_and_start_again_on_resume():
    paused, other = UserFactory(), UserFactory()
    held = _queued(paused, 2, minutes_ago=10)
    (theirs,) = _queued(other, 1)
    pause_queue(paused)
    assert claim_next()[0].pk == theirs.pk
    assert claim_next() is None, "the paused jobs stay queued"
    assert Portrait.objects.filter(owner=paused, status=Portrait.Status.QUEUED).count() == 2
    resume_queue(paused)
    assert claim_next()[0].pk == held[0].pk


def test_turns_that_found_the_queue_paused_end_and_resume_hands_out_new_ones(settings, user):
    settings.PORTRAIT_SIZE = 64
    jobs = queue_jobs(user, [JobSpec("a fox"), JobSpec("a heron")], LOCAL)
    pause_queue(user)
    assert run_worker_until_idle() == ["idle", "idle"], "no turn loops or waits on a paused queue"
    assert {job.status for job in Portrait.objects.filter(pk__in=[j.pk for j in jobs])} == {"queued"}
    assert resume_queue(user) == 2
    assert DBTaskResult.objects.ready().count() == 2
    assert run_worker_until_idle() == ["succeeded", "succeeded"]


def test_resuming_twice_does_not_double_the_turns(user):
    queue_jobs(user, [JobSpec("a fox"), JobSpec("a heron")], LOCAL)
    pause_queue(user)
    resume_queue(user)  # the jobs' own turns have not run yet: nothing to add
    resume_queue(user)
    assert DBTaskResult.objects.ready().count() == 2


# --- the safety net -------------------------------------------------------------------------------------


def test_a_turn_lost_with_its_worker_is_replaced_by_the_recovery_sweep(settings, user):
    settings.PORTRAIT_SIZE = 64
    queue_jobs(user, [JobSpec("a fox"), JobSpec("a heron")], LOCAL)
    lost = DBTaskResult.objects.ready().first()
    # A worker took this turn and died before claiming a job.
    DBTaskResult.objects.filter(pk=lost.pk).update(status="RUNNING", started_at=timezone.now())
    assert recover_expired_jobs().turns_added == 0, "a turn that has just started is still coming"
    DBTaskResult.objects.filter(pk=lost.pk).update(started_at=timezone.now() - timedelta(minutes=5))
    assert run_worker_until_idle() == ["succeeded"]
    assert Portrait.objects.filter(status=Portrait.Status.QUEUED).count() == 1, "no turn left for it"
    assert recover_expired_jobs().turns_added == 1
    assert run_worker_until_idle() == ["succeeded"]
    assert recover_expired_jobs().turns_added == 0


# --- per-provider concurrency limits ----------------------------------------------------------------


def test_jobs_over_a_providers_limit_wait_while_other_providers_jobs_run(settings):
    settings.PROVIDER_CONCURRENCY = {"local": 1}
    owner = UserFactory()
    local = _queued(owner, 2, minutes_ago=10)
    (other,) = _queued(owner, 1, provider="stability")
    assert claim_next()[0].pk == local[0].pk
    assert claim_next()[0].pk == other.pk, "local is at its limit of 1"
    assert claim_next() is None
    _finish(local[0])
    assert claim_next()[0].pk == local[1].pk


def test_a_full_provider_ends_the_turns_and_each_freed_slot_wakes_one(settings, user):
    settings.PORTRAIT_SIZE = 64
    settings.PROVIDER_CONCURRENCY = {"local": 1}
    jobs = queue_jobs(user, [JobSpec(f"prompt {n}") for n in range(3)], LOCAL)
    held, _ = claim_next()  # another worker is painting one
    assert run_worker_until_idle() == ["idle"] * 3, "waiting jobs end their turns: no retry, no busy loop"
    assert Portrait.objects.filter(status=Portrait.Status.QUEUED).count() == 2
    _finish(held)
    wake_for_freed_slot("local")  # what the holder's task does when its job ends
    assert DBTaskResult.objects.ready().count() == 1
    # Each job's end wakes the next, one at a time.
    assert run_worker_until_idle() == ["succeeded", "succeeded"]
    assert {job.status for job in Portrait.objects.filter(pk__in=[j.pk for j in jobs])} == {"succeeded"}


def test_an_interrupted_paid_job_frees_its_slot_for_the_next(settings, user):
    settings.PROVIDER_CONCURRENCY = {"stability": 1}
    first, second = _queued(user, 2, provider="stability")
    claimed, _ = claim_next()
    assert claim_next() is None
    Portrait.objects.filter(pk=claimed.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert recover_expired_jobs().interrupted == [first.pk]
    assert DBTaskResult.objects.ready().count() == 1, "a turn for the job waiting on the freed slot"
    assert claim_next()[0].pk == second.pk


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent workers need PostgreSQL")
def test_concurrent_workers_never_pass_a_providers_limit(settings):
    settings.PROVIDER_CONCURRENCY = {"local": 2}
    owner = UserFactory()
    _queued(owner, 8)
    barrier = threading.Barrier(6)
    claimed: list[int] = []

    def worker() -> None:
        try:
            barrier.wait()
            if (job := claim_next()) is not None:
                claimed.append(job[0].pk)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == 2
    assert Portrait.objects.filter(status=Portrait.Status.RUNNING).count() == 2


@pytest.mark.parametrize("raw", ["openai", "openai=0", "openai=four", "=3"])
def test_a_bad_provider_concurrency_setting_fails_loudly(monkeypatch, raw):
    monkeypatch.setenv("PROVIDER_CONCURRENCY", raw)
    with pytest.raises(ImproperlyConfigured, match='must look like "openai=4,stability=2"'):
        env_limits("PROVIDER_CONCURRENCY")


def test_a_provider_concurrency_limit_for_an_unknown_provider_fails_loudly():
    env = {**os.environ, "PROVIDER_CONCURRENCY": "opneai=4", "DEBUG": "1"}
    checked = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
            "'site_config.settings'); django.setup()",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode != 0
    assert "PROVIDER_CONCURRENCY names opneai, not in IMAGE_PROVIDERS" in checked.stderr


def test_the_provider_concurrency_setting_reads_each_limit(monkeypatch):
    monkeypatch.setenv("PROVIDER_CONCURRENCY", "openai=4, stability=2")
    assert env_limits("PROVIDER_CONCURRENCY") == {"openai": 4, "stability": 2}
