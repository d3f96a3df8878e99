"""A character's look: its reference strip, its cover and its character sheet."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotFound
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import slugify
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from studio.access import get_owned_or_404
from studio.characters.models import Character
from studio.characters.prompts import PromptTooLongError
from studio.portraits import references, sheets
from studio.portraits.generation import GenerationInputError, QuotaExceededError, queue_character_sheet
from studio.portraits.models import Portrait, ReferenceImage
from studio.portraits.views.generate import PORTRAITS_CHANGED, _cards

REFERENCES_CHANGED = "referencesChanged"  # from a portrait: the strip and the generator's note refresh
REFERENCES_EDITED = "referencesEdited"  # from the strip itself
COVER_CHANGED = "coverChanged"
STRIP = "studio/portraits/character_detail.html#reference_strip"


def strip_context(character: Character) -> dict[str, object]:
    items = references.references_of(character)
    return {
        "character": character,
        "references": items,
        "reference_roles": ReferenceImage.Role.choices,
        "reference_room": ReferenceImage.MAX_PER_CHARACTER - len(items),
        "reference_max": ReferenceImage.MAX_PER_CHARACTER,
    }


def _back(request: HttpRequest, fallback: object) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect(fallback)


def _strip_response(request: HttpRequest, character: Character) -> HttpResponse:
    """The updated strip for HTMX; the character page for a plain form post."""
    if request.htmx:
        # The strip is swapped by this response; only the generator's note listens to this event.
        response = render(request, STRIP, strip_context(character))
        return trigger_client_event(response, REFERENCES_EDITED)
    return redirect(character)


@login_required
def reference_strip(request: HttpRequest, pk: int) -> HttpResponse:
    character = get_owned_or_404(request, Character, pk=pk)
    return render(request, STRIP, strip_context(character))


@login_required
@require_POST
def portrait_use_as_reference(request: HttpRequest, pk: int) -> HttpResponse:
    portrait = get_owned_or_404(request, Portrait.objects.select_related("character"), pk=pk)
    role = request.POST.get("role") or ReferenceImage.Role.FACE
    try:
        reference = references.add_portrait_reference(portrait, role)
    except references.ReferenceError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            f"Portrait {portrait.pk} is now a {reference.get_role_display().lower()} reference of "
            f"{portrait.character.name}.",
        )
    if request.htmx:
        return trigger_client_event(HttpResponse("", headers={"HX-Reswap": "none"}), REFERENCES_CHANGED)
    return _back(request, portrait.character or portrait)


@login_required
@require_POST
def portrait_set_cover(request: HttpRequest, pk: int) -> HttpResponse:
    portrait = get_owned_or_404(request, Portrait.objects.select_related("character"), pk=pk)
    try:
        references.set_cover(portrait)
    except references.ReferenceError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Portrait {portrait.pk} is now the cover of {portrait.character.name}.")
    if request.htmx:
        return trigger_client_event(HttpResponse("", headers={"HX-Reswap": "none"}), COVER_CHANGED)
    return _back(request, portrait.character or portrait)


@login_required
@require_POST
def reference_upload(request: HttpRequest, pk: int) -> HttpResponse:
    character = get_owned_or_404(request, Character, pk=pk)
    upload = request.FILES.get("image")
    if upload is None:
        messages.error(request, "Choose an image file to upload (PNG, JPEG, WebP or GIF).")
    else:
        try:
            references.add_upload_reference(character, upload, request.POST.get("role") or "face")
        except references.ReferenceError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "The image was added to the references.")
    return _strip_response(request, character)


def _owned_reference(request: HttpRequest, pk: int) -> ReferenceImage:
    return get_owned_or_404(request, ReferenceImage.objects.select_related("character"), pk=pk)


@login_required
@require_POST
def reference_move(request: HttpRequest, pk: int) -> HttpResponse:
    reference = _owned_reference(request, pk)
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        messages.error(request, "Move a reference up or down.")
    else:
        references.move(reference, direction)
    return _strip_response(request, reference.character)


@login_required
@require_POST
def reference_role(request: HttpRequest, pk: int) -> HttpResponse:
    reference = _owned_reference(request, pk)
    try:
        references.set_role(reference, request.POST.get("role", ""))
    except references.ReferenceError as error:
        messages.error(request, str(error))
    return _strip_response(request, reference.character)


@login_required
@require_POST
def reference_remove(request: HttpRequest, pk: int) -> HttpResponse:
    reference = _owned_reference(request, pk)
    character = reference.character
    references.remove(reference)
    messages.success(request, "The reference was removed; portraits made from it keep its record.")
    return _strip_response(request, character)


@login_required
def reference_image(request: HttpRequest, pk: int) -> HttpResponse:
    reference = get_owned_or_404(request, ReferenceImage, pk=pk)
    try:
        opened = reference.image.open("rb")
    except FileNotFoundError:
        return HttpResponseNotFound("This reference's image file is missing.", content_type="text/plain")
    response = FileResponse(opened, filename=f"reference-{reference.pk}.png")
    response["Cache-Control"] = "private, max-age=86400"
    return response


@login_required
@require_POST
def character_sheet_queue(request: HttpRequest, pk: int) -> HttpResponse:
    character = get_owned_or_404(request, Character, pk=pk)
    try:
        portraits = queue_character_sheet(character)
    except (PromptTooLongError, GenerationInputError, QuotaExceededError) as error:
        messages.error(request, str(error))
        if request.htmx:
            return HttpResponse("", headers={"HX-Reswap": "none"})
        return redirect(character)
    if request.htmx:
        return trigger_client_event(HttpResponse(_cards(request, portraits)), PORTRAITS_CHANGED)
    messages.info(request, f"A character sheet of {len(portraits)} portraits is queued.")
    return redirect(character)


@login_required
def character_sheet_png(request: HttpRequest, pk: int) -> HttpResponse:
    character = get_owned_or_404(request, Character, pk=pk)
    sheet = sheets.newest_sheet(character)
    if sheet is None or not sheet.painted:
        raise Http404("This character has no painted sheet yet.")
    png = sheets.compose_png(character, sheet)
    response = HttpResponse(png, content_type="image/png")
    name = slugify(character.name) or "character"
    response["Content-Disposition"] = f'attachment; filename="{name}-sheet.png"'
    return response
