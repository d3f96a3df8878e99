"""Background CSV imports: big files are committed by a task while the page polls a progress bar."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from studio.imports import cards
from studio.imports import commit as import_commit
from studio.imports import rows as import_rows
from studio.imports import sources as import_sources
from studio.imports.models import CharacterImport

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
    import_sources.check_size(len(data))
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


def source_format(job: CharacterImport) -> str:
    """CSV, JSON, a PNG card or a CHARX (sources.CSV/JSON/CARD/CHARX), as sources.detect_format judges."""
    if job.card_record is not None:
        return job.card_record.get("format", import_sources.CARD)
    with job.source.open("rb") as source:
        return import_sources.detect_format(import_sources.binary_stream(source), job.original_name)


def card_record(job: CharacterImport, kind: str) -> dict[str, Any]:
    """The card's import record, read from the file once and then kept on the job (saved with it), with how
    many of the card's images would become portraits ("images")."""
    if job.card_record is None:
        with job.source.open("rb") as source:
            card, images = cards.read_card_file(import_sources.binary_stream(source), kind)
        job.card_record = {"format": kind, "record": cards.card_record(card), "images": images}
        if job.pk:
            CharacterImport.objects.filter(pk=job.pk).update(card_record=job.card_record)
    return job.card_record["record"]


def _records(job: CharacterImport, kind: str) -> list[Any]:
    if kind in (import_sources.CARD, import_sources.CHARX):
        return [card_record(job, kind)]
    with job.source.open("rb") as source:
        return import_rows.parse_json(source.read())


def preview_job(
    job: CharacterImport, overrides: Mapping[str, str] | None = None
) -> import_rows.ImportPreview:
    """The preview of a stored upload (raises sources.ImportProblem for a file that cannot be imported)."""
    kind = source_format(job)
    if kind != import_sources.CSV:
        preview = import_rows.preview_records(_records(job, kind), job.owner, encoding=kind)
        if kind in (import_sources.CARD, import_sources.CHARX):
            preview.images = (job.card_record or {}).get("images", 0)
        return preview
    with job.source.open("rb") as source:
        return import_rows.preview(source, job.owner, overrides=overrides)


def _run_import(job: CharacterImport, progress: import_sources.Progress | None) -> import_commit.ImportReport:
    kind = source_format(job)
    if kind in (import_sources.CARD, import_sources.CHARX):
        # The character as the preview read it, then the card's images as its portraits (card_portraits).
        record = card_record(job, kind)
        with job.source.open("rb") as source:
            return cards.import_card_file(
                import_sources.binary_stream(source),
                kind,
                job.owner,
                name=job.original_name,
                record=record,
                all_or_nothing=job.all_or_nothing,
                progress=progress,
            )
    if kind != import_sources.CSV:
        return import_commit.import_records(
            _records(job, kind), job.owner, all_or_nothing=job.all_or_nothing, progress=progress
        )
    with job.source.open("rb") as source:
        return import_commit.commit(
            source, job.owner, overrides=job.overrides, all_or_nothing=job.all_or_nothing, progress=progress
        )


def _claim(job: CharacterImport, status: str, new_status: str) -> bool:
    claimed = CharacterImport.objects.filter(pk=job.pk, status=status).update(
        status=new_status, started_at=timezone.now() if new_status == CharacterImport.Status.RUNNING else None
    )
    if claimed:
        job.status = new_status
    return bool(claimed)


def queue_draft(job: CharacterImport) -> bool:
    """Hand a previewed import to the background worker; False if it was already committed."""
    CharacterImport.objects.filter(pk=job.pk).update(
        overrides=job.overrides, all_or_nothing=job.all_or_nothing, total_rows=job.total_rows
    )
    if not _claim(job, CharacterImport.Status.DRAFT, CharacterImport.Status.QUEUED):
        return False
    transaction.on_commit(lambda: _enqueue(job))
    return True


def commit_draft(job: CharacterImport) -> bool:
    """Commit a previewed import in this request; False if it was already committed (a double click)."""
    CharacterImport.objects.filter(pk=job.pk).update(
        overrides=job.overrides, all_or_nothing=job.all_or_nothing, total_rows=job.total_rows
    )
    if not _claim(job, CharacterImport.Status.DRAFT, CharacterImport.Status.RUNNING):
        return False
    _run(job, background=False)
    job.refresh_from_db()
    return True


@task()
def import_characters_task(import_job_id: int) -> None:
    claimed = CharacterImport.objects.filter(pk=import_job_id, status=CharacterImport.Status.QUEUED).update(
        status=CharacterImport.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return  # already taken by another worker, finished, or deleted
    _run(CharacterImport.objects.select_related("owner").get(pk=import_job_id), background=True)


def _run(job: CharacterImport, *, background: bool) -> None:
    """Import the job's file and record the outcome; a background run reports progress and re-raises."""

    def progress(processed: int, total: int) -> None:
        CharacterImport.objects.filter(pk=job.pk).update(processed_rows=processed, total_rows=total)

    try:
        report = _run_import(job, progress if background else None)
    except import_sources.ImportProblem as problem:
        _finish(job, CharacterImport.Status.FAILED, error_message=problem.message)
        return
    except Exception:
        logger.exception("Character import %s failed", job.pk)
        _finish(
            job,
            CharacterImport.Status.FAILED,
            error_message="The import failed unexpectedly; nothing more was saved.",
        )
        if background:
            raise
        return
    status = CharacterImport.Status.SUCCEEDED if report.committed else CharacterImport.Status.FAILED
    _finish(
        job, status, report=report.to_dict(), error_message=report.message if not report.committed else ""
    )


def _finish(job: CharacterImport, status: str, **fields: Any) -> None:
    CharacterImport.objects.filter(pk=job.pk).update(status=status, finished_at=timezone.now(), **fields)


def job_report(job: CharacterImport) -> import_commit.ImportReport | None:
    """The finished job's report, for the results page and the rejected-rows download."""
    return import_commit.ImportReport.from_dict(job.report) if job.report else None
