"""What a user controls in their own queue: pause and resume it, move a job to the front (cancelling a job
or a batch is in generation.py). How workers choose among queues is studio.portraits.scheduling."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Min

from studio.portraits.models import Portrait
from studio.portraits.tasks import wake_queued_jobs


def pause_queue(owner: Any) -> None:
    """No worker starts the owner's queued jobs until resume_queue; running jobs finish."""
    get_user_model().objects.filter(pk=owner.pk).update(queue_paused=True)
    owner.queue_paused = True


def resume_queue(owner: Any) -> int:
    """Let workers start the owner's queued jobs again; returns how many jobs were queued."""
    # Committed before looking for the jobs that need a turn: a turn that starts after this sees the queue
    # running, and a turn that already ended on the paused queue is one wake_queued_jobs replaces.
    get_user_model().objects.filter(pk=owner.pk).update(queue_paused=False)
    owner.queue_paused = False
    wake_queued_jobs(owner.pk)
    return Portrait.objects.filter(owner=owner, status=Portrait.Status.QUEUED).count()


def move_to_front(portrait: Portrait) -> bool:
    """Make a queued job the next of its owner's to start; False when it is no longer queued."""
    with transaction.atomic():
        queued = Portrait.objects.filter(owner_id=portrait.owner_id, status=Portrait.Status.QUEUED)
        first = queued.aggregate(first=Min("queue_position"))["first"] or 0
        position = min(first, 0) - 1
        moved = queued.filter(pk=portrait.pk).update(queue_position=position)
    if moved:
        portrait.queue_position = position
    return bool(moved)


def queue_order(portraits: Any) -> Any:
    """A queryset of one owner's queued jobs in the order they will start."""
    return portraits.order_by("queue_position", "queued_at", "id")
