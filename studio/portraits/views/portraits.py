from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotFound
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from studio.access import get_owned_or_404
from studio.portraits import references
from studio.portraits.models import Portrait
from studio.portraits.views import JOBS_CHANGED


@login_required
def portrait_card(request: HttpRequest, pk: int) -> HttpResponse:
    """One portrait card; while the job is active the card polls this view until it is done."""
    portrait = get_owned_or_404(request, Portrait.objects.select_related("character"), pk=pk)
    response = render(request, "studio/portraits/character_detail.html#portrait_card", {"portrait": portrait})
    if request.htmx and not portrait.is_active:  # the card's last poll: its job finished
        trigger_client_event(response, JOBS_CHANGED)
    return response


@login_required
def portrait_detail(request: HttpRequest, pk: int) -> HttpResponse:
    portrait = get_owned_or_404(request, Portrait.objects.select_related("character"), pk=pk)
    context = {"portrait": portrait, "lineage": references.lineage(portrait)}
    return render(request, "studio/portraits/portrait_detail.html", context)


MISSING_FILE_MESSAGE = (
    "This portrait's image file is missing from the studio's storage. "
    "Remix it to paint it again, or ask the studio admin to restore the file."
)


def _file_response(portrait: Portrait, *, thumbnail: bool, download: bool) -> HttpResponse:
    file = portrait.thumbnail if thumbnail else portrait.image
    if not file:
        raise Http404("This portrait has no image yet.")
    try:
        opened = file.open("rb")
    except FileNotFoundError:
        return HttpResponseNotFound(MISSING_FILE_MESSAGE, content_type="text/plain; charset=utf-8")
    title = portrait.character.name if portrait.character else "portrait"
    name = f"{slugify(title) or 'portrait'}-{portrait.pk}"
    extension = "webp" if thumbnail else "png"
    response = FileResponse(opened, as_attachment=download, filename=f"{name}.{extension}")
    response["Cache-Control"] = "private, max-age=86400"
    return response


@login_required
def portrait_image(request: HttpRequest, pk: int) -> HttpResponse:
    portrait = get_owned_or_404(request, Portrait.objects.select_related("character"), pk=pk)
    return _file_response(portrait, thumbnail=False, download="download" in request.GET)


@login_required
def portrait_thumbnail(request: HttpRequest, pk: int) -> HttpResponse:
    portrait = get_owned_or_404(request, Portrait.objects.select_related("character"), pk=pk)
    return _file_response(portrait, thumbnail=True, download=False)


@login_required
@require_POST
def portrait_delete(request: HttpRequest, pk: int) -> HttpResponse:
    portrait = get_owned_or_404(request, Portrait.objects.select_related("character"), pk=pk)
    character = portrait.character
    portrait.delete()
    if request.htmx:
        return HttpResponse("")
    messages.success(request, "The portrait was deleted.")
    return redirect(character or "studio:character_list")
