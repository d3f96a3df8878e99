"""Background CSV imports: big files are committed by a task while the page polls a progress bar."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from . import imports
from .models import CharacterImport

logger = logging.getLogger(__name__)


def start_import(
    owner: Any,
    data: bytes,
    *,
    original_name: str = "",
    overrides: Mapping[str, str] | None = None,
    all_or_nothing: bool = False,
    total_rows: int = 0,
) -> CharacterImport:
    """Store the upload under a server-chosen name and queue its import once this transaction commits."""
    imports.check_size(len(data))
    job = CharacterImport(
        owner=owner,
        original_name=original_name[:255],
        overrides=dict(overrides or {}),
        all_or_nothing=all_or_nothing,
        total_rows=total_rows,
    )
    job.source.save("upload", ContentFile(data), save=False)
    job.save()
    transaction.on_commit(lambda: _enqueue(job))
    return job


def _enqueue(job: CharacterImport) -> None:
    result = import_characters_task.enqueue(job.pk)
    CharacterImport.objects.filter(pk=job.pk).update(task_id=str(result.id)[:64])


@task()
def import_characters_task(import_job_id: int) -> None:
    claimed = CharacterImport.objects.filter(pk=import_job_id, status=CharacterImport.Status.QUEUED).update(
        status=CharacterImport.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return  # already taken by another worker, finished, or deleted
    job = CharacterImport.objects.select_related("owner").get(pk=import_job_id)

    def progress(processed: int, total: int) -> None:
        CharacterImport.objects.filter(pk=job.pk).update(processed_rows=processed, total_rows=total)

    try:
        with job.source.open("rb") as source:
            report = imports.commit(
                source,
                job.owner,
                overrides=job.overrides,
                all_or_nothing=job.all_or_nothing,
                progress=progress,
            )
    except imports.ImportProblem as problem:
        _finish(job, CharacterImport.Status.FAILED, error_message=problem.message)
        return
    except Exception:
        logger.exception("Character import %s failed", job.pk)
        _finish(
            job,
            CharacterImport.Status.FAILED,
            error_message="The import failed unexpectedly; nothing more was saved.",
        )
        raise
    status = CharacterImport.Status.SUCCEEDED if report.committed else CharacterImport.Status.FAILED
    _finish(
        job, status, report=report.to_dict(), error_message=report.message if not report.committed else ""
    )


def _finish(job: CharacterImport, status: str, **fields: Any) -> None:
    CharacterImport.objects.filter(pk=job.pk).update(status=status, finished_at=timezone.now(), **fields)


def job_report(job: CharacterImport) -> imports.ImportReport | None:
    """The finished job's report, for the results page and the rejected-rows download."""
    return imports.ImportReport.from_dict(job.report) if job.report else None
