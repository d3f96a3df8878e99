from __future__ import annotations

import base64
from collections import Counter
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from .. import painter, prompts
from ..access import get_owned_or_404, parse_id
from ..forms import CharacterForm, CharacterSearchForm, GeneratorForm, ImportUploadForm, preview_values
from ..models import Batch, BatchProgress, Character, Portrait
from .generate import estimate_for


def searched_characters(request: HttpRequest) -> tuple[CharacterSearchForm, str, QuerySet[Character]]:
    """The user's characters filtered by the ?q= name search (the list and the exports share it)."""
    search = CharacterSearchForm(request.GET)
    characters = Character.objects.filter(owner=request.user)
    query = search.cleaned_data["q"].strip() if search.is_valid() else ""
    if query:
        characters = characters.filter(name__icontains=query)
    return search, query, characters


@login_required
def character_list(request: HttpRequest) -> HttpResponse:
    search, query, characters = searched_characters(request)
    template_name = "studio/character_list.html"
    if request.htmx and request.htmx.target == "character-results":
        template_name += "#results"
    has_any = bool(query) or characters.exists()
    return render(
        request,
        template_name,
        {
            "search": search,
            "query": query,
            "characters": characters.order_by("name"),
            "has_any": has_any,
            "import_form": ImportUploadForm(),
        },
    )


def _preview_context(values: dict) -> dict:
    prompt = prompts.build_prompt(values)
    sketch = base64.b64encode(painter.sketch_png(values)).decode("ascii")
    return {"prompt": prompt, "sketch_data_uri": f"data:image/png;base64,{sketch}"}


def _form_page(request: HttpRequest, form: CharacterForm, character: Character | None) -> HttpResponse:
    values = preview_values(form.data) if form.is_bound else form.instance.prompt_values()
    context = {"form": form, "character": character, **_preview_context(values)}
    return render(request, "studio/character_form.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def character_create(request: HttpRequest) -> HttpResponse:
    form = CharacterForm(request.POST or None, owner=request.user)
    if request.method == "POST" and "_preview" not in request.POST and form.is_valid():
        character = form.save()
        messages.success(request, f"“{character.name}” was created.")
        return redirect(character)
    return _form_page(request, form, None)


@login_required
@require_http_methods(["GET", "POST"])
def character_edit(request: HttpRequest, pk: int) -> HttpResponse:
    character = get_owned_or_404(request, Character, pk=pk)
    form = CharacterForm(request.POST or None, instance=character, owner=request.user)
    if request.method == "POST" and "_preview" not in request.POST and form.is_valid():
        character = form.save()
        messages.success(request, f"“{character.name}” was saved.")
        return redirect(character)
    return _form_page(request, form, character)


@login_required
@require_POST
def character_preview(request: HttpRequest) -> HttpResponse:
    """The live preview: the exact prompt and an instant sketch, from unsaved form data."""
    return render(
        request, "studio/character_form.html#preview", _preview_context(preview_values(request.POST))
    )


SHOWN = 48  # portraits on the character page; its gallery scrolls through all of them


@login_required
def character_detail(request: HttpRequest, pk: int) -> HttpResponse:
    character = get_owned_or_404(request, Character, pk=pk)
    if request.htmx and request.htmx.target == ACTIVITY_ID:
        return _activity_response(request, character)
    # One more than the page shows, to know whether to point to the gallery for the rest.
    portraits = list(Portrait.objects.filter(character=character).order_by("-created_at", "-id")[: SHOWN + 1])
    prompt = prompts.character_prompt(character)
    generator = GeneratorForm(initial={"negative_prompt": prompt.negative})
    context = {
        "character": character,
        "prompt": prompt,
        "portraits": portraits[:SHOWN],
        "more_portraits": len(portraits) > SHOWN,
        "shown_portraits": SHOWN,
        "generator": generator,
        "estimate": estimate_for(request, generator, 1),
        "activity": _activity(character, []),
        "polled_by_page": True,
    }
    return render(request, "studio/character_detail.html", context)


# While portraits are painted, one poller (the activity region above the grid) refreshes the whole page: the
# batches' progress bars and, out of band, the cards whose status changed. The active cards carry hidden
# active_card inputs ("pk:status") that the poller sends, so the server knows what each card shows.
ACTIVITY_ID = "character-activity"


@dataclass
class Activity:
    batches: list[tuple[Batch, BatchProgress]]
    singles: dict[str, int]  # queued / running counts of active portraits outside any batch
    active: bool


def _activity(character: Character, watched: list[int]) -> Activity:
    in_flight = list(
        Portrait.objects.filter(character=character, status__in=Portrait.ACTIVE_STATUSES).values_list(
            "batch_id", "status"
        )
    )
    singles = Counter(status for batch_id, status in in_flight if batch_id is None)
    # Batches with work in flight, and those a card on the page belongs to, so that a bar ends at "n / n".
    batch_ids = {batch_id for batch_id, _ in in_flight if batch_id is not None}
    if watched:
        batch_ids |= set(
            Portrait.objects.filter(character=character, pk__in=watched)
            .exclude(batch=None)
            .values_list("batch_id", flat=True)
        )
    batches = list(Batch.objects.filter(character=character, pk__in=batch_ids)[:10]) if batch_ids else []
    return Activity([(batch, batch.progress()) for batch in batches], dict(singles), bool(in_flight))


def _watched(request: HttpRequest) -> dict[int, str]:
    """The active cards the page shows: {pk: status} from the poller's active_card values."""
    watched: dict[int, str] = {}
    for value in request.GET.getlist("active_card")[:200]:
        pk, _, status = value.partition(":")
        if (parsed := parse_id(pk)) is not None:
            watched[parsed] = status
    return watched


def _activity_response(request: HttpRequest, character: Character) -> HttpResponse:
    watched = _watched(request)
    context = {"character": character, "activity": _activity(character, list(watched))}
    parts = [render_to_string("studio/character_detail.html#activity", context, request=request)]
    current = Portrait.objects.filter(owner=request.user, pk__in=watched).select_related("character")
    found = {portrait.pk: portrait for portrait in current}
    for pk, status in watched.items():
        portrait = found.get(pk)
        if portrait is None:  # deleted meanwhile
            parts.append(f'<div id="portrait-{pk}" hx-swap-oob="delete"></div>')
        elif portrait.character_id == character.pk and portrait.status != status:
            card = {"portrait": portrait, "polled_by_page": True, "oob": True}
            parts.append(
                render_to_string("studio/character_detail.html#portrait_card", card, request=request)
            )
    return HttpResponse("".join(parts))


@login_required
@require_http_methods(["GET", "POST"])
def character_delete(request: HttpRequest, pk: int) -> HttpResponse:
    character = get_owned_or_404(request, Character, pk=pk)
    if request.method == "POST":
        name = character.name
        character.delete()
        messages.success(request, f"“{name}” and its portraits were deleted.")
        if request.htmx:
            return HttpResponseClientRedirect(reverse("studio:character_list"))
        return redirect("studio:character_list")
    template_name = "studio/character_delete.html"
    if request.htmx:
        template_name += "#confirm"
    return render(request, template_name, {"character": character})
