"""The portrait task, handing saved jobs to the task backend, and recovering jobs whose worker died."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import TaskContext, task

from studio.portraits.jobs import interrupted_message, log_fields, run_next_job
from studio.portraits.models import Portrait
from studio.portraits.scheduling import claimable_jobs, has_claimable_jobs

logger = logging.getLogger("studio.generation")

QUEUE_UNAVAILABLE_MESSAGE = (
    "The studio's queue is unavailable, so this portrait was not sent to be painted (nothing was billed). "
    "Press Retry in a minute; if it keeps happening, tell the studio admin."
)


@task(takes_context=True)
def generate_portrait(context: TaskContext, portrait_id: int) -> str:
    """One worker turn. Every queued job brings one such task, but the turn runs the job the fair scheduler
    chooses (studio.portraits.scheduling), which need not be `portrait_id`; see docs/queue.md."""
    # Each worker also sweeps for jobs lost by a dead worker (throttled; see maybe_recover_expired_jobs).
    maybe_recover_expired_jobs()
    status, portrait = run_next_job(str(context.task_result.id))
    if portrait is not None:
        wake_for_freed_slot(portrait.provider)
    return status


def wake_for_freed_slot(provider: str) -> None:
    """A job of a provider with a concurrency limit ended: its slot is free. Turns that found the provider
    full ended without a job, so hand one new turn to the jobs still waiting for it (none when nothing waits;
    at worst a spare turn that finds nothing and ends)."""
    if provider not in settings.PROVIDER_CONCURRENCY or not has_claimable_jobs(provider):
        return
    waiting = (
        Portrait.objects.filter(status=Portrait.Status.QUEUED, provider=provider)
        .order_by("queue_position", "queued_at", "id")
        .first()
    )
    if waiting is not None:
        enqueue(waiting)


def wake_queued_jobs(owner_id: int) -> int:
    """Give a turn to each of the owner's queued jobs that has none waiting (after a resume: the turns that
    found the queue paused ended without a job). Returns how many turns were queued."""
    with transaction.atomic():
        queued = list(
            Portrait.objects.select_for_update()
            .filter(owner_id=owner_id, status=Portrait.Status.QUEUED)
            .order_by("queue_position", "queued_at", "id")
            .only("pk", "task_id")
        )
        pending = _pending_task_ids([portrait.task_id for portrait in queued])
        missing = [portrait for portrait in queued if portrait.task_id not in pending]
        _give_turns(missing)
    return len(missing)


# A turn claims its job within milliseconds of starting: one "running" longer without a job lost its worker.
TURN_START_GRACE = timedelta(seconds=60)


def top_up_turns(now: Any = None) -> int:
    """The safety net (database backend): when fewer turns are coming than there are claimable jobs (a worker
    died between taking its task and claiming a job, a task row was deleted), queue the missing turns.
    Coming: the turns waiting, and those just started that have not claimed a job yet."""
    if not _tasks_share_the_database():
        return 0
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    turns = DBTaskResult.objects.filter(task_path=generate_portrait.module_path)
    ready = turns.ready().count()
    started = turns.filter(status=TaskResultStatus.RUNNING, started_at__gte=now - TURN_START_GRACE)
    running_jobs = set(
        Portrait.objects.filter(status=Portrait.Status.RUNNING).values_list("task_id", flat=True)
    )
    starting = sum(1 for pk in started.values_list("pk", flat=True) if str(pk) not in running_jobs)
    missing = claimable_jobs().count() - ready - starting
    if missing <= 0:
        return 0
    with transaction.atomic():
        jobs = list(
            claimable_jobs()
            .select_for_update(of=("self",))
            .order_by("queue_position", "queued_at", "id")
            .only("pk", "task_id")[:missing]
        )
        _give_turns(jobs)
    return len(jobs)


def _give_turns(jobs: list[Portrait]) -> None:
    """One new turn for each of these queued jobs (locked by the caller), named as the job's task."""
    assign_task_ids(jobs)
    if _tasks_share_the_database():
        Portrait.objects.bulk_update(jobs, ["task_id"], batch_size=500)
    enqueue_all(jobs)


def _pending_task_ids(task_ids: list[str]) -> set[str]:
    """Which of these task rows still wait for a worker (the database backend only: RQ cannot say)."""
    if not _tasks_share_the_database():
        return set()
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    valid = []
    for task_id in task_ids:
        try:
            valid.append(uuid.UUID(task_id))
        except ValueError:
            continue
    ready = DBTaskResult.objects.filter(pk__in=valid, status=TaskResultStatus.READY).values_list(
        "pk", flat=True
    )
    return {str(pk) for pk in ready}


def _tasks_share_the_database() -> bool:
    from django_tasks_db.backend import DatabaseBackend

    from studio.portraits.tasks import generate_portrait

    return isinstance(generate_portrait.get_backend(), DatabaseBackend)


def assign_task_ids(portraits: list[Portrait]) -> None:
    """Choose the database backend's task ids up front, so a batch's portraits are inserted with them."""
    if _tasks_share_the_database():
        for portrait in portraits:
            portrait.task_id = str(uuid.uuid4())


def enqueue_all(portraits: list[Portrait]) -> None:
    """Hand saved jobs (task ids from assign_task_ids) to the worker.

    With the database backend the task rows are written in the caller's transaction: they commit (or roll
    back) with the portraits, in one commit and one INSERT for the whole batch, where enqueue() after the
    commit cost an INSERT, an UPDATE and two commits per job (~1 s for 100 jobs on PostgreSQL under load).
    Any other backend (RQ) hands the job to a worker at once, so it is sent only after the commit.
    """
    if not _tasks_share_the_database():
        for portrait in portraits:
            enqueue_after_commit(portrait)
        return
    from django_tasks.signals import task_enqueued
    from django_tasks_db.models import DBTaskResult, get_date_max

    from studio.portraits.tasks import generate_portrait

    # The rows DatabaseBackend.enqueue() would create one by one.
    backend = generate_portrait.get_backend()
    backend.validate_task(generate_portrait)
    rows = DBTaskResult.objects.bulk_create(
        [
            DBTaskResult(
                id=uuid.UUID(portrait.task_id),
                args_kwargs={"args": [portrait.pk], "kwargs": {}},
                priority=generate_portrait.priority,
                task_path=generate_portrait.module_path,
                queue_name=generate_portrait.queue_name,
                run_after=generate_portrait.run_after or get_date_max(),
                backend_name=backend.alias,
            )
            for portrait in portraits
        ],
        batch_size=500,
    )
    for row in rows:
        task_enqueued.send(type(backend), task_result=row.task_result)


def enqueue(portrait: Portrait) -> None:
    """Queue one saved job again (retry, recovery) under a new task."""
    assign_task_ids([portrait])
    if portrait.task_id:
        # Only while queued: once claimed, task_id names the task running the job (recovery needs it).
        Portrait.objects.filter(pk=portrait.pk, status=Portrait.Status.QUEUED).update(
            task_id=portrait.task_id
        )
    enqueue_all([portrait])


def enqueue_after_commit(portrait: Portrait) -> None:
    from studio.portraits.tasks import generate_portrait

    def send() -> None:
        try:
            result = generate_portrait.enqueue(portrait.pk)
        except Exception:
            # Redis down or refusing: the request must not fail (the jobs are already committed), and a job
            # no worker will ever see must not wait for ever or count towards the limits.
            logger.exception("generation.enqueue_failed", extra=log_fields(portrait))
            portrait.mark_not_queued(QUEUE_UNAVAILABLE_MESSAGE)
            return
        Portrait.objects.filter(pk=portrait.pk, status=Portrait.Status.QUEUED).update(task_id=str(result.id))

    transaction.on_commit(send)


# Recovery of jobs whose worker died.


@dataclass
class Recovery:
    requeued: list[int] = field(default_factory=list)
    interrupted: list[int] = field(default_factory=list)
    # Jobs still QUEUED whose task a worker took and lost before claiming the job (see _resend_stranded_jobs).
    resent: list[int] = field(default_factory=list)
    turns_added: int = 0


def is_free(provider: str) -> bool:
    """Jobs that cost nothing can be re-run without asking: the local painter."""
    return provider == "local"


def recover_expired_jobs(now: Any = None) -> Recovery:
    """Pick up jobs whose worker vanished: RUNNING past their lease. See the billing policy above."""
    now = now or timezone.now()
    recovery = Recovery()
    expired = Portrait.objects.filter(status=Portrait.Status.RUNNING, lease_expires_at__lt=now)
    for portrait in expired.only("pk", "provider", "model", "claim_token", "attempts", "history", "task_id"):
        still_expired = Portrait.objects.filter(
            pk=portrait.pk,
            status=Portrait.Status.RUNNING,
            claim_token=portrait.claim_token,
            lease_expires_at__lt=now,
        )
        history = [
            *portrait.history,
            {"attempt": portrait.attempts, "outcome": "lease expired", "at": now.isoformat()},
        ]
        free = is_free(portrait.provider)
        # One transaction: a requeued job always has a task to run it, and the dead worker's task row is
        # closed only when the job really was recovered.
        with transaction.atomic():
            if free:
                recovered = still_expired.update(
                    status=Portrait.Status.QUEUED,
                    claim_token="",
                    lease_expires_at=None,
                    started_at=None,
                    history=history,
                )
            else:
                recovered = still_expired.update(
                    status=Portrait.Status.FAILED,
                    error_kind=Portrait.INTERRUPTED,
                    error_message=interrupted_message(portrait.provider),
                    finished_at=now,
                    lease_expires_at=None,
                    history=history,
                )
            if recovered:
                _close_lost_task_row(portrait.task_id, now)
                if free:
                    enqueue(portrait)
        if recovered:
            (recovery.requeued if free else recovery.interrupted).append(portrait.pk)
            if not free:
                wake_for_freed_slot(portrait.provider)
    recovery.resent = _resend_stranded_jobs(now)
    recovery.turns_added = top_up_turns(now)
    if recovery.requeued or recovery.interrupted or recovery.resent or recovery.turns_added:
        logger.warning(
            "generation.recovered",
            extra={
                "requeued_ids": recovery.requeued,
                "interrupted_ids": recovery.interrupted,
                "resent_ids": recovery.resent,
                "turns_added": recovery.turns_added,
            },
        )
    return recovery


def _resend_stranded_jobs(now: Any) -> list[int]:
    """Send jobs again whose task row a worker took (RUNNING) but that it never claimed, or whose task ended
    without running them, for longer than a lease: a worker killed between the two claims leaves its task
    RUNNING and its job QUEUED for ever (still counted against the user's limits). The job was never claimed,
    so no provider was called: sending it again cannot bill twice, for a paid provider too."""
    if not _tasks_share_the_database():
        return []  # RQ keeps its own record of lost jobs
    from django_tasks_db.models import DBTaskResult

    cutoff = now - timedelta(seconds=settings.PORTRAIT_LEASE_SECONDS)
    waiting = Portrait.objects.filter(status=Portrait.Status.QUEUED, queued_at__lt=cutoff).exclude(task_id="")
    resent: list[int] = []
    for portrait in waiting.only("pk", "task_id").iterator(chunk_size=500):
        if not _task_was_lost(DBTaskResult, portrait.task_id, cutoff):
            continue
        lost_task_id = portrait.task_id
        assign_task_ids([portrait])
        with transaction.atomic():
            # Guarded by the lost task id: of two sweepers, one sends the job again.
            if not Portrait.objects.filter(
                pk=portrait.pk, status=Portrait.Status.QUEUED, task_id=lost_task_id
            ).update(task_id=portrait.task_id):
                continue
            _close_lost_task_row(lost_task_id, now)
            enqueue_all([portrait])
        resent.append(portrait.pk)
    return resent


def _task_was_lost(task_results: Any, task_id: str, cutoff: Any) -> bool:
    """The job's task was taken by a worker (started) before `cutoff` and is not waiting to run again."""
    try:
        task_uuid = uuid.UUID(task_id)
    except ValueError:
        return False
    return task_results.objects.filter(
        pk=task_uuid, status__in=["RUNNING", "FAILED", "SUCCESSFUL"], started_at__lt=cutoff
    ).exists()


LOST_TASK_MESSAGE = "The worker running this task stopped; the portrait job was recovered (see its history)."


def _close_lost_task_row(task_id: str, now: Any) -> None:
    """Mark the dead worker's task row failed, so the task list never shows it running for ever."""
    if not task_id or not _tasks_share_the_database():
        return
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(pk=task_id, status="RUNNING").update(
        status="FAILED",
        finished_at=now,
        exception_class_path="studio.generation.WorkerLost",
        traceback=LOST_TASK_MESSAGE,
    )


_last_sweep = 0.0
_sweep_lock = threading.Lock()


def maybe_recover_expired_jobs() -> Recovery | None:
    """recover_expired_jobs at most once per PORTRAIT_RECOVERY_INTERVAL seconds in this process."""
    global _last_sweep
    with _sweep_lock:
        now = time.monotonic()
        if now - _last_sweep < settings.PORTRAIT_RECOVERY_INTERVAL:
            return None
        _last_sweep = now
    return recover_expired_jobs()
