"""Commit django-tasks' own bookkeeping rows without waiting for the disk; paint a portrait on save."""

from __future__ import annotations

from typing import Any

from django.db import connections
from django.db.models.signals import pre_save
from django_tasks_db.models import DBTaskResult

# A worker commits four times per job: django-tasks claims its task row and later marks it finished, and
# the portrait is claimed (Portrait.claim, before a paid call) and then gets its image (store_image). Each
# synchronous commit on PostgreSQL waits for a WAL flush (0.4 ms on a quiet machine here, 4 ms under
# load). Only the portrait's commits guard the user's bill, so django-tasks' claim transaction commits
# asynchronously (synchronous_commit = off, for that transaction only: a database crash within a few
# hundred milliseconds may forget it, never corrupts anything). A forgotten claim makes a worker run the
# task again, and Portrait.claim then refuses the job (it is no longer queued): no second paid call.
# The "finished" update is a lone autocommitted statement, where SET LOCAL cannot reach, and is left
# synchronous rather than flipping the session's setting and having to restore it.


def _task_row_update_started(sender: type[DBTaskResult], instance: DBTaskResult, **kwargs: Any) -> None:
    if instance._state.adding or kwargs.get("update_fields") is None:
        return  # new task rows commit with their portraits (generation._enqueue_all)
    connection = connections[kwargs["using"]]
    if connection.vendor == "postgresql" and connection.in_atomic_block:  # django-tasks' claim
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def connect() -> None:
    from studio.characters.signals import look_saved
    from studio.portraits.generation import paint_on_save

    pre_save.connect(_task_row_update_started, sender=DBTaskResult, dispatch_uid="studio.task_row_commit")
    look_saved.connect(paint_on_save, dispatch_uid="studio.paint_on_save")
