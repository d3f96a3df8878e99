"""Character import (CSV, JSON, cards) with a row-by-row preview, and CSV/JSON/card export.

An upload is stored as a draft CharacterImport (server-chosen file name, owner-scoped) so that remapping a
column and committing never need the file again. Small files commit in the request; big CSVs go to the
background task and the job's page polls its progress. Everything here also works as plain form posts.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.base import ContentFile
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from studio import painter
from studio.access import get_owned_or_404
from studio.characters.models import Character
from studio.characters.prompts import PromptTooLongError
from studio.characters.views import searched_characters
from studio.imports import card_portraits, cards
from studio.imports import commit as writer
from studio.imports import export as import_export
from studio.imports import mapping as import_mapping
from studio.imports import rows as import_rows
from studio.imports import sources as import_sources
from studio.imports.forms import ImportUploadForm
from studio.imports.models import CharacterImport
from studio.imports.tasks import commit_draft, job_report, preview_job, queue_draft, source_format
from studio.portraits.generation import GenerationInputError, QuotaExceededError, queue_character_portraits
from studio.portraits.models import Batch, Portrait
from studio.portraits.providers import UnknownProviderError, get_provider
from studio.portraits.references import cover_thumbnail_url, with_cover
from studio.portraits.views import JOBS_CHANGED
from studio.text import counted
from studio.throttle import throttle

PAGE = "studio/imports/character_import.html"
CHANGED_EVENT = "charactersChanged"
SHOWN_VALID_ROWS = 100  # the preview table shows every invalid row (up to SHOWN_INVALID_ROWS) and these
SHOWN_INVALID_ROWS = 200
CELL_CHARACTERS = 60
DRAFT_LIFETIME = timedelta(days=1)
STATUS_STYLES = {
    import_rows.NEW: ("success", "New"),
    import_rows.UPDATE: ("primary", "Update"),
    import_rows.UNCHANGED: ("secondary", "Unchanged"),
    import_rows.INVALID: ("danger", "Invalid"),
}
COLUMN_NOTES = {
    "unknown": "Unknown column: ignored unless you map it.",
    "duplicate": "Another column already fills this field: ignored.",
    "ignored": "Ignored.",
    "blank": "No header: ignored.",
}


# --- pages ----------------------------------------------------------------------------------------------


@login_required
@require_GET
def import_page(request: HttpRequest) -> HttpResponse:
    """The import page (the non-JS home of the panel); for HTMX, a fresh upload form in the panel."""
    if request.htmx:
        return render(request, PAGE + "#upload", {"import_form": ImportUploadForm()})
    return _page(request, ImportUploadForm())


@login_required
@require_POST
@throttle("import")
def import_upload(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _upload_error(request, form)
    upload = form.cleaned_data["file"]
    try:
        if upload:
            name = upload.name or "upload"
            import_sources.check_size(upload.size, cards.upload_limit(name))
            data = upload.read()
        else:
            data, name = form.cleaned_data["text"].encode("utf-8"), "pasted.csv"
    except import_sources.ImportProblem as problem:
        form.add_error(None, problem.message)
        return _upload_error(request, form)
    _discard_stale_drafts(request)
    job = CharacterImport(owner=request.user, status=CharacterImport.Status.DRAFT, original_name=name[:255])
    job.source.save("upload", ContentFile(data), save=False)
    try:
        preview = preview_job(job)
    except import_sources.ImportProblem as problem:
        if problem.mapping is None:
            # Nothing the preview can fix (empty, binary, too many rows...): keep nothing.
            job.source.delete(save=False)
            form.add_error(None, problem.message)
            return _upload_error(request, form)
        job.save()  # a header problem can be fixed by remapping a column in the preview
        if not request.htmx:
            return redirect("studio:import_detail", job.pk)
        return _job_response(request, job, problem=problem)
    job.total_rows = preview.total
    job.save()
    if not request.htmx:
        return redirect("studio:import_detail", job.pk)
    return _job_response(request, job, preview=preview)


@login_required
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A stable page per import: its preview, its progress bar, or its result."""
    job = get_owned_or_404(request, CharacterImport, pk=pk)
    response = _job_response(request, job)
    if request.htmx and "poll" in request.GET and not job.is_active:
        # The background import just finished: the character list, and the badge for portraits it queued.
        trigger_client_event(response, CHANGED_EVENT)
        trigger_client_event(response, JOBS_CHANGED)
    return response


@login_required
@require_POST
def import_remap(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_owned_or_404(request, CharacterImport, pk=pk)
    if job.status != CharacterImport.Status.DRAFT:
        return _job_response(request, job)
    try:
        job.overrides = _posted_overrides(job, request.POST)
        preview = preview_job(job, job.overrides)
    except import_sources.ImportProblem as problem:
        job.save(update_fields=["overrides"])
        return _job_response(request, job, problem=problem, post=request.POST)
    job.total_rows = preview.total
    job.save(update_fields=["overrides", "total_rows"])
    if not request.htmx:
        return redirect("studio:import_detail", job.pk)
    return _job_response(request, job, preview=preview, post=request.POST)


@login_required
@require_POST
def import_commit(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_owned_or_404(request, CharacterImport, pk=pk)
    if job.status != CharacterImport.Status.DRAFT:  # a second click: show where the first one got to
        return _after_commit(request, job)
    kind = source_format(job)
    try:
        job.overrides = _posted_overrides(job, request.POST)
        if kind == import_sources.CSV:
            with job.source.open("rb") as source:
                import_rows.parse_csv(source, job.overrides)  # header problems: back to the preview
    except import_sources.ImportProblem as problem:
        job.save(update_fields=["overrides"])
        return _job_response(request, job, problem=problem, post=request.POST)
    job.all_or_nothing = request.POST.get("all_or_nothing") == "on"
    if _in_background(job, kind, job.total_rows):
        queue_draft(job)
    else:
        commit_draft(job)
    return _after_commit(request, job)


@login_required
@require_GET
def import_rejected(request: HttpRequest, pk: int) -> HttpResponse:
    """The rejected rows as a CSV with an added "error" column, to fix and import again."""
    job = get_owned_or_404(request, CharacterImport, pk=pk)
    report = job_report(job)
    if report is None or not report.rejected:
        raise Http404("This import rejected no rows.")
    response = HttpResponse(import_export.rejected_rows_csv(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="rejected-rows-{job.pk}.csv"'
    return response


@login_required
@require_POST
def import_portraits(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue one portrait for each character the import created or updated that has none since the import.

    The import is claimed first, so a double click queues once. When the daily limit or the provider stops
    the run part-way, the claim is let go: the offer then stands for the characters still without one."""
    job = get_owned_or_404(request, CharacterImport, pk=pk)
    report = job_report(job)
    ids = report.character_ids if report else []
    unclaimed = CharacterImport.objects.filter(pk=job.pk, portraits_queued_at__isnull=True)
    claimed = bool(ids) and unclaimed.update(portraits_queued_at=timezone.now())
    if not claimed:
        messages.info(request, "Portraits for this import were already queued.")
    else:
        _queue_import_portraits(request, job, _without_new_portraits(job, ids))
        job.refresh_from_db()
    if not request.htmx:
        return redirect("studio:import_detail", job.pk)
    return _job_response(request, job)


def _queue_import_portraits(request: HttpRequest, job: CharacterImport, ids: list[int]) -> None:
    queued = skipped = cheaper = 0
    stopped: Exception | None = None
    # One batch per import, so the queue page can cancel the whole run at once (also a later run of the rest).
    name = f"Portraits for the import of {job.original_name or f'#{job.pk}'}"
    batch = job.portrait_batch or Batch.objects.create(
        owner=request.user, kind=Batch.Kind.IMPORT, name=name[:200]
    )
    if job.portrait_batch_id != batch.pk:
        CharacterImport.objects.filter(pk=job.pk).update(portrait_batch=batch)
    for character in Character.objects.filter(owner=request.user, pk__in=ids).order_by("name"):
        try:
            jobs = queue_character_portraits(character, batch=batch)
        except PromptTooLongError:
            skipped += 1
        except (QuotaExceededError, GenerationInputError) as error:
            stopped = error
            break
        else:
            queued += 1
            cheaper += bool(jobs.budget_notice)
    if not batch.portraits.exists():
        batch.delete()  # nothing queued in it: no empty batch on the queue page
    note = f" {skipped} skipped: their prompts are too long." if skipped else ""
    if cheaper:
        painter = request.user.budget_fallback == request.user.BudgetFallback.PAINTER
        how = "with the offline painter (free)" if painter else "with a cheaper quality"
        made = "it was" if cheaper == 1 else "they were"
        note += f" {cheaper} would have passed your daily spending limit, so {made} made {how} instead."
    if stopped is None:
        messages.success(request, f"{_portraits(queued)} queued.{note}")
        return
    CharacterImport.objects.filter(pk=job.pk).update(portraits_queued_at=None)  # the rest, later
    if not queued:
        messages.error(request, f"No portraits were queued: {stopped}{note}")
        return
    rest = len(ids) - queued - skipped
    verb = "was" if rest == 1 else "were"
    messages.warning(request, f"{_portraits(queued)} queued; the other {rest} {verb} not: {stopped}{note}")


def _portraits(count: int) -> str:
    return counted(count, "portrait")


def _without_new_portraits(job: CharacterImport, ids: list[int]) -> list[int]:
    """The import's characters with no portrait (other than cancelled ones) made since the import began (a
    card's images, imported as portraits with it, count)."""
    since = job.started_at or job.created_at
    done = set(
        Portrait.objects.filter(owner_id=job.owner_id, created_at__gte=since, character_id__isnull=False)
        .exclude(status=Portrait.Status.CANCELLED)
        .values_list("character_id", flat=True)
    )
    return [pk for pk in ids if pk not in done]


# --- export ---------------------------------------------------------------------------------------------


def _export_name(query: str, extension: str) -> str:
    suffix = f"-{slugify(query)[:40]}" if slugify(query) else ""
    return f"characters{suffix}-{timezone.localdate():%Y-%m-%d}.{extension}"


@login_required
@require_GET
def export_csv(request: HttpRequest) -> StreamingHttpResponse:
    _search, query, characters = searched_characters(request)
    response = StreamingHttpResponse(
        import_export.export_csv(characters), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{_export_name(query, "csv")}"'
    return response


@login_required
@require_GET
def export_json(request: HttpRequest) -> HttpResponse:
    _search, query, characters = searched_characters(request)
    response = HttpResponse(
        import_export.export_json(characters), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{_export_name(query, "json")}"'
    return response


def _painted(character: Character) -> bytes:
    return painter.render_png(character.prompt_values(), character.pk, 512)


@login_required
@require_GET
def character_card(request: HttpRequest, pk: int) -> HttpResponse:
    """A PNG character card: the cover (newest portrait, or the painter's render) with the card inside."""
    character = get_owned_or_404(request, Character, pk=pk)
    png = None
    cover = cards.cover_png(character)
    if cover:
        try:
            png = cards.export_card(character, cover)
        except import_sources.ImportProblem:
            png = None  # an unreadable stored image: fall back to the painter
    if png is None:
        png = cards.export_card(character, _painted(character))
    response = HttpResponse(png, content_type="image/png")
    name = slugify(character.name) or "character"
    response["Content-Disposition"] = f'attachment; filename="{name}-card.png"'
    return response


@login_required
@require_GET
def character_charx(request: HttpRequest, pk: int) -> HttpResponse:
    """A CHARX: the V3 card.json with the character's portraits (the cover as its icon) as assets."""
    character = get_owned_or_404(request, Character, pk=pk)
    charx = cards.export_charx(character, fallback_png=lambda: _painted(character))
    response = HttpResponse(charx, content_type="application/zip")
    name = slugify(character.name) or "character"
    response["Content-Disposition"] = f'attachment; filename="{name}.charx"'
    return response


# --- helpers --------------------------------------------------------------------------------------------


def _page(request: HttpRequest, form: ImportUploadForm, status: int = 200, **context: Any) -> HttpResponse:
    recent = CharacterImport.objects.filter(owner=request.user)[:20]
    return render(request, PAGE, {"import_form": form, "recent_imports": recent, **context}, status=status)


def _upload_error(request: HttpRequest, form: ImportUploadForm) -> HttpResponse:
    if request.htmx:
        # 200 so that HTMX swaps the message into the panel (it leaves 4xx responses unswapped).
        return render(request, PAGE + "#upload", {"import_form": form})
    return _page(request, form, status=400)


def _discard_stale_drafts(request: HttpRequest) -> None:
    """Previews never committed are dropped after a day (one at a time, so their files go too)."""
    cutoff = timezone.now() - DRAFT_LIFETIME
    stale = CharacterImport.objects.filter(
        owner=request.user, status=CharacterImport.Status.DRAFT, created_at__lt=cutoff
    )
    for job in stale[:50]:
        job.delete()


def _posted_overrides(job: CharacterImport, post: QueryDict) -> dict[str, str]:
    """The preview's "map column" selects (map-<index>) as header -> field overrides."""
    if source_format(job) != import_sources.CSV:
        return {}
    with job.source.open("rb") as source:
        headers = _raw_headers(source)
    automatic = import_mapping.map_headers(headers)
    overrides: dict[str, str] = {}
    for column in automatic.columns:
        key = f"map-{column.index}"
        if key not in post:
            if column.header in job.overrides:
                overrides[column.header] = job.overrides[column.header]
            continue
        chosen = post[key]
        if chosen and chosen not in import_mapping.FIELD_LABELS:
            raise import_sources.ImportProblem(f"Column “{column.header}” cannot be mapped to “{chosen}”.")
        if chosen != column.field:
            overrides[column.header] = chosen
    return overrides


def _raw_headers(source: Any) -> list[str]:
    try:
        return import_rows.parse_csv(source).mapping.headers
    except import_sources.ImportProblem as problem:
        if problem.mapping is None:
            raise
        return problem.mapping.headers


def _after_commit(request: HttpRequest, job: CharacterImport) -> HttpResponse:
    if not request.htmx:
        report = job_report(job)
        if job.status == CharacterImport.Status.SUCCEEDED and report:
            messages.success(request, _summary(report))
        return redirect("studio:import_detail", job.pk)
    response = _job_response(request, job)
    if job.status == CharacterImport.Status.SUCCEEDED:
        trigger_client_event(response, CHANGED_EVENT)
    return response


def _in_background(job: CharacterImport, kind: str, total_rows: int) -> bool:
    """A CSV of many rows, or a CHARX of many images, is committed by the background task."""
    if kind == import_sources.CSV:
        return total_rows > import_sources.background_rows_threshold()
    images = (job.card_record or {}).get("images", 0) if kind == import_sources.CHARX else 0
    return images > card_portraits.BACKGROUND_IMAGES


def _summary(report: writer.ImportReport) -> str:
    if report.card_summary:  # a card: "Imported Ava with 20 portraits."
        return report.card_summary
    counts = (
        (report.created, "created"),
        (report.updated, "updated"),
        (report.unchanged, "unchanged"),
        (report.invalid, "rejected"),
    )
    named = [f"{count:,} {label}" for count, label in counts if count]  # no "0 updated, 0 unchanged"
    return f"Imported: {', '.join(named)}." if named else "Imported: the file had no characters."


def _job_response(
    request: HttpRequest,
    job: CharacterImport,
    *,
    preview: import_rows.ImportPreview | None = None,
    problem: import_sources.ImportProblem | None = None,
    post: QueryDict | None = None,
) -> HttpResponse:
    context = _job_context(job, preview=preview, problem=problem, post=post)
    if request.htmx:
        return render(request, PAGE + "#job", context)
    return _page(request, ImportUploadForm(), **context)


def _job_context(
    job: CharacterImport,
    *,
    preview: import_rows.ImportPreview | None,
    problem: import_sources.ImportProblem | None,
    post: QueryDict | None,
) -> dict[str, Any]:
    all_or_nothing = bool(post and post.get("all_or_nothing") == "on")
    context: dict[str, Any] = {"job": job, "all_or_nothing": all_or_nothing}
    if job.status == CharacterImport.Status.DRAFT:
        if preview is None and problem is None:
            try:
                preview = preview_job(job, job.overrides)
            except import_sources.ImportProblem as error:
                problem = error
        mapping = preview.mapping if preview else problem.mapping if problem else None
        context.update(
            preview=preview,
            problem=problem,
            columns=_columns(mapping),
            field_choices=import_mapping.FIELD_CHOICES,
            background=preview is not None and _in_background(job, source_format(job), preview.total),
        )
        if preview:
            context.update(_table(preview))
    report = job_report(job)
    if report:
        context.update(report=report, **_portrait_offer(job, report))
        context["imported_characters"] = _imported_characters(job, report)
    return context


SHOWN_IMPORTED = 12


def _imported_characters(job: CharacterImport, report: writer.ImportReport) -> list[dict[str, Any]]:
    """The first characters of the import with their covers (their newest portrait until one is chosen)."""
    ids = list(report.character_ids)[:SHOWN_IMPORTED]
    if not ids:
        return []
    characters = with_cover(Character.objects.filter(owner=job.owner, pk__in=ids).only("id", "name"))
    return [
        {"character": character, "cover_url": cover_thumbnail_url(character)}
        for character in characters.order_by("name")
    ]


def _columns(mapping: import_mapping.ColumnMapping | None) -> list[dict[str, Any]]:
    if mapping is None:
        return []
    return [
        {"column": column, "note": COLUMN_NOTES.get(column.status, ""), "header": column.header or "(blank)"}
        for column in mapping.columns
    ]


def _table(preview: import_rows.ImportPreview) -> dict[str, Any]:
    invalid = [row for row in preview.rows if row.status == import_rows.INVALID][:SHOWN_INVALID_ROWS]
    valid = [row for row in preview.rows if row.status != import_rows.INVALID][:SHOWN_VALID_ROWS]
    shown = sorted(invalid + valid, key=lambda row: row.line)
    columns = preview.mapping.columns
    rows = []
    for row in shown:
        cells = []
        bad_cells: dict[str, int] = {}  # header -> the number (1-based) of its cell, for the problem line
        for column in columns:
            value = row.cells[column.index] if column.index < len(row.cells) else ""
            error = row.error_for(column.header) if column.field else None
            cells.append({"value": _shortened(value), "error": error, "number": column.index + 1})
            if error is not None:
                bad_cells.setdefault(column.header, column.index + 1)
        # Under an invalid row, each problem with a copy of its cell: a wide file's bad cell may be far right.
        problems = [
            {"error": error, "number": bad_cells.get(error.column), "value": _shortened(error.value)}
            for error in row.errors
        ]
        style, label = STATUS_STYLES[row.status]
        rows.append({"row": row, "cells": cells, "problems": problems, "style": style, "label": label})
    return {"rows": rows, "rows_not_shown": preview.total - len(rows), "table_span": max(len(columns), 1) + 3}


def _shortened(value: str) -> str:
    # Sliced here: |truncatechars is slow on thousands of cells.
    return value[: CELL_CHARACTERS - 1] + "…" if len(value) > CELL_CHARACTERS else value


def _portrait_offer(job: CharacterImport, report: writer.ImportReport) -> dict[str, Any]:
    ids = report.character_ids
    count = len(ids) if job.portraits_queued_at else len(_without_new_portraits(job, ids))
    if not count:
        return {}
    try:
        backend = get_provider(settings.DEFAULT_IMAGE_PROVIDER)
    except UnknownProviderError:
        return {}  # the default provider is switched off: there is nothing to queue portraits with
    size = f"{settings.PORTRAIT_SIZE}x{settings.PORTRAIT_SIZE}"
    cost: Decimal = backend.estimate_cost(backend.default_model, "", size, count)
    return {"portrait_count": count, "portrait_cost": cost, "portrait_provider": backend.label}
