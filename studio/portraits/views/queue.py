"""The queue: live status of a user's jobs, batches with progress; pause and resume, move to front, cancel
and retry."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from studio.access import get_owned_or_404
from studio.portraits.generation import QuotaExceededError, RetryRefusedError, cancel_batch, retry_portrait
from studio.portraits.models import Batch, Portrait
from studio.portraits.queue_control import move_to_front, pause_queue, resume_queue
from studio.portraits.tasks import maybe_recover_expired_jobs
from studio.portraits.views import JOBS_CHANGED
from studio.portraits.views.galleries import attach_urls
from studio.portraits.views.generate import PORTRAITS_CHANGED
from studio.throttle import throttle

RECENT = timedelta(hours=24)


def _active(request: HttpRequest) -> QuerySet[Portrait]:
    return Portrait.objects.filter(owner=request.user, status__in=Portrait.ACTIVE_STATUSES)


def _queue_context(request: HttpRequest) -> dict:
    since = timezone.now() - RECENT
    jobs = Portrait.objects.filter(owner=request.user).select_related(
        "character", "batch", "batch__character"
    )
    # Running jobs first, then the queued ones in the order they will start (queue_control.queue_order).
    running_first = Case(
        When(status=Portrait.Status.RUNNING, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    active = list(
        jobs.filter(status__in=Portrait.ACTIVE_STATUSES).order_by(
            running_first, "queue_position", "queued_at", "id"
        )[:100]
    )
    first_queued = next((job for job in active if job.status == Portrait.Status.QUEUED), None)
    # Queued (or retried) in the last day: a retry of an older job shows here once it finishes.
    recent = list(
        jobs.exclude(status__in=Portrait.ACTIVE_STATUSES)
        .filter(queued_at__gte=since)
        .order_by("-finished_at", "-id")[:30]
    )
    batches = [
        (batch, batch.progress())
        for batch in Batch.objects.filter(owner=request.user, created_at__gte=since).select_related(
            "character"
        )[:10]
    ]
    attach_urls([*active, *recent], own=True)
    return {
        "active": active,
        "recent": recent,
        "batches": batches,
        "first_queued_id": first_queued.pk if first_queued else None,
        "queue_paused": request.user.queue_paused,
    }


@login_required
@require_GET
def queue_page(request: HttpRequest) -> HttpResponse:
    maybe_recover_expired_jobs()
    template_name = "studio/portraits/queue.html"
    if request.htmx:
        template_name += "#queue_list"
    return render(request, template_name, _queue_context(request))


@login_required
@require_GET
def queue_badge(request: HttpRequest) -> HttpResponse:
    """The navbar's count of running and queued jobs; it polls only while there are some."""
    maybe_recover_expired_jobs()
    return render(request, "base.html#queue_badge", {"active_jobs": _active(request).count()})


@login_required
@require_GET
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_owned_or_404(request, Batch.objects.select_related("character"), pk=pk)
    context = {"batch": batch, "progress": batch.progress(), "portraits": batch.portraits.order_by("id")}
    template_name = "studio/portraits/batch_detail.html"
    if request.htmx:
        template_name += "#batch_progress"
    response = render(request, template_name, context)
    if request.htmx and not context["progress"].active:  # the progress bar's last poll: the batch is done
        trigger_client_event(response, JOBS_CHANGED)
    return response


@login_required
@require_POST
def batch_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_owned_or_404(request, Batch, pk=pk)
    cancelled = cancel_batch(batch)
    messages.info(request, f"{cancelled} queued job{'s' if cancelled != 1 else ''} cancelled.")
    if request.htmx:
        return trigger_client_event(HttpResponse("", headers={"HX-Reswap": "none"}), PORTRAITS_CHANGED)
    return redirect(_next_url(request) or batch)


def _next_url(request: HttpRequest) -> str:
    """The posted `next` page when it is on this site, else ""."""
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        return next_url
    return ""


def _card_response(request: HttpRequest, portrait: Portrait, changed: bool) -> HttpResponse:
    if request.htmx:
        response = render(
            request, "studio/portraits/character_detail.html#portrait_card", {"portrait": portrait}
        )
        return trigger_client_event(response, PORTRAITS_CHANGED) if changed else response
    return redirect(_next_url(request) or portrait.character or "studio:queue")


@login_required
@require_POST
def portrait_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    portrait = get_owned_or_404(request, Portrait.objects.select_related("character"), pk=pk)
    cancelled = portrait.cancel()
    if cancelled:
        messages.info(request, "The portrait was cancelled before it was painted.")
    else:
        portrait.refresh_from_db()
        messages.warning(
            request, "This portrait is already being painted (or finished); it cannot be cancelled."
        )
    return _card_response(request, portrait, cancelled)


@login_required
@require_POST
@throttle("generate")
def portrait_retry(request: HttpRequest, pk: int) -> HttpResponse:
    portrait = get_owned_or_404(request, Portrait.objects.select_related("character"), pk=pk)
    try:
        retry_portrait(portrait)
    except (RetryRefusedError, QuotaExceededError) as error:
        messages.error(request, str(error))
        return _card_response(request, portrait, False)
    messages.info(request, "The portrait is queued again.")
    return _card_response(request, portrait, True)


def _queue_changed(request: HttpRequest) -> HttpResponse:
    """HTMX: the toolbar as it is now, and the job list refreshes itself (portraitsChanged)."""
    if not request.htmx:
        return redirect("studio:queue")
    response = render(
        request, "studio/portraits/queue.html#queue_toolbar", {"queue_paused": request.user.queue_paused}
    )
    return trigger_client_event(response, PORTRAITS_CHANGED)


@login_required
@require_POST
def queue_pause(request: HttpRequest) -> HttpResponse:
    pause_queue(request.user)
    messages.info(request, "Your queue is paused: running jobs finish, queued ones wait until you resume.")
    return _queue_changed(request)


@login_required
@require_POST
def queue_resume(request: HttpRequest) -> HttpResponse:
    waiting = resume_queue(request.user)
    messages.info(
        request, f"Your queue is running again ({waiting} queued job{'s' if waiting != 1 else ''})."
    )
    return _queue_changed(request)


@login_required
@require_POST
def portrait_to_front(request: HttpRequest, pk: int) -> HttpResponse:
    portrait = get_owned_or_404(request, Portrait, pk=pk)
    if move_to_front(portrait):
        messages.info(request, f"Job #{portrait.pk} is now the next of yours to start.")
    else:
        messages.warning(
            request, f"Job #{portrait.pk} is no longer queued (it started, finished or was cancelled)."
        )
    if request.htmx:
        return trigger_client_event(HttpResponse("", headers={"HX-Reswap": "none"}), PORTRAITS_CHANGED)
    return redirect("studio:queue")
