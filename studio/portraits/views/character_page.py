"""The character page: its portraits, the generator panel and the progress of work in flight."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django_htmx.http import trigger_client_event

from studio.access import get_owned_or_404, parse_id
from studio.characters import prompts
from studio.characters.models import Character
from studio.portraits import references, sheets
from studio.portraits.forms import GeneratorForm
from studio.portraits.models import Batch, BatchProgress, Portrait
from studio.portraits.views import JOBS_CHANGED
from studio.portraits.views.generate import estimate_for
from studio.portraits.views.looks import strip_context

SHOWN = 48  # portraits on the character page; its gallery scrolls through all of them


@login_required
def character_detail(request: HttpRequest, pk: int) -> HttpResponse:
    character = get_owned_or_404(request, Character, pk=pk)
    if request.htmx and request.htmx.target == ACTIVITY_ID:
        return _activity_response(request, character)
    if request.htmx and request.htmx.target == COVER_ID:
        context = {
            "character": character,
            "cover": references.cover_of(character),
            "chosen_cover_id": references.chosen_cover_id(character),
        }
        return render(request, "studio/portraits/character_detail.html#cover", context)
    # One more than the page shows, to know whether to point to the gallery for the rest.
    portraits = list(Portrait.objects.filter(character=character).order_by("-created_at", "-id")[: SHOWN + 1])
    for portrait in portraits:
        portrait.character = character  # the cards compare versions ("older look") without a query each
    prompt = prompts.character_prompt(character)
    generator = GeneratorForm(initial={"negative_prompt": prompt.negative})
    strip = strip_context(character)
    model = generator.estimate_values()[0] if generator.backend else ""
    context = {
        **strip,
        "references_note": references.describe(generator.backend, model, strip["references"]),
        "cover": references.cover_of(character),
        "chosen_cover_id": references.chosen_cover_id(character),
        "sheet": sheets.newest_sheet(character),
        "character": character,
        "prompt": prompt,
        "portraits": portraits[:SHOWN],
        "more_portraits": len(portraits) > SHOWN,
        "shown_portraits": SHOWN,
        "generator": generator,
        "prompt_length": prompt.length,
        "estimate": estimate_for(request, generator, 1),
        "activity": _activity(character, []),
        "polled_by_page": True,
    }
    return render(request, "studio/portraits/character_detail.html", context)


# While portraits are painted, one poller (the activity region above the grid) refreshes the whole page: the
# batches' progress bars and, out of band, the cards whose status changed. The active cards carry hidden
# active_card inputs ("pk:status") that the poller sends, so the server knows what each card shows.
ACTIVITY_ID = "character-activity"
COVER_ID = "character-cover-slot"


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
    parts = [render_to_string("studio/portraits/character_detail.html#activity", context, request=request)]
    current = Portrait.objects.filter(owner=request.user, pk__in=watched).select_related("character")
    found = {portrait.pk: portrait for portrait in current}
    changed = False
    for pk, status in watched.items():
        portrait = found.get(pk)
        changed = changed or portrait is None or portrait.status != status
        if portrait is None:  # deleted meanwhile
            parts.append(f'<div id="portrait-{pk}" hx-swap-oob="delete"></div>')
        elif portrait.character_id == character.pk and portrait.status != status:
            card = {"portrait": portrait, "polled_by_page": True, "oob": True}
            parts.append(
                render_to_string(
                    "studio/portraits/character_detail.html#portrait_card", card, request=request
                )
            )
    response = HttpResponse("".join(parts))
    # A job moved on: the navbar's badge and the "Today" line fetch their counts again (no poll of their own).
    return trigger_client_event(response, JOBS_CHANGED) if changed else response
