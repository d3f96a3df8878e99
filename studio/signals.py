"""Signal handlers: log events for characters, whatever path changed them (views, the CLI, the admin, an
account deletion), and commit django-tasks' own bookkeeping rows without waiting for the disk."""

from __future__ import annotations

import logging
from typing import Any

from django.db import connections
from django.db.models.signals import post_delete, post_save, pre_save
from django_tasks_db.models import DBTaskResult

from .models import Character

logger = logging.getLogger("studio.characters")


def _character_saved(sender: type[Character], instance: Character, created: bool, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    logger.info(
        "character.created" if created else "character.updated",
        extra={"character_id": instance.pk, "owner_id": instance.owner_id, "version": instance.version},
    )


def _character_deleted(sender: type[Character], instance: Character, **kwargs: Any) -> None:
    logger.info("character.deleted", extra={"character_id": instance.pk, "owner_id": instance.owner_id})


# A worker commits four times per job: django-tasks claims its task row and later marks it finished, and
# the portrait is claimed (Portrait.claim, before a paid call) and then gets its image (store_image). With
# PostgreSQL's synchronous commit each of those waits for a WAL flush (~4 ms on a small VM's disk: 16 ms
# of a job's 20 ms overhead budget). Only the portrait's two commits guard the user's bill; the task
# row's two can be committed asynchronously (synchronous_commit = off: the commit is acknowledged before
# the WAL reaches the disk; a database crash within a few hundred milliseconds may forget it, never
# corrupts anything). A forgotten claim of a task row makes a worker run the task again, and
# Portrait.claim then refuses the job (it is no longer queued): no second paid call. A forgotten
# "finished" leaves a finished task row looking running, as a dead worker does. Creating task rows is
# left alone: they commit with their portraits (generation._enqueue_all).


def _task_row_update_started(sender: type[DBTaskResult], instance: DBTaskResult, **kwargs: Any) -> None:
    if instance._state.adding or kwargs.get("update_fields") is None:
        return
    connection = connections[kwargs["using"]]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if connection.in_atomic_block:  # django-tasks' claim: a transaction of its own
            cursor.execute("SET LOCAL synchronous_commit = off")
        else:  # marking the row finished: one autocommitted UPDATE; put back by _task_row_updated
            cursor.execute("SET synchronous_commit = off")
            instance._synchronous_commit_off = True


def _task_row_updated(sender: type[DBTaskResult], instance: DBTaskResult, **kwargs: Any) -> None:
    if instance.__dict__.pop("_synchronous_commit_off", False):
        with connections[kwargs["using"]].cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def connect() -> None:
    pre_save.connect(_task_row_update_started, sender=DBTaskResult, dispatch_uid="studio.task_row_commit")
    post_save.connect(_task_row_updated, sender=DBTaskResult, dispatch_uid="studio.task_row_committed")
    post_save.connect(_character_saved, sender=Character, dispatch_uid="studio.character_saved")
    post_delete.connect(_character_deleted, sender=Character, dispatch_uid="studio.character_deleted")
