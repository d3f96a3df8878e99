from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from studio.access import get_owned_or_404, parse_id
from studio.characters import vocabulary
from studio.characters.models import Character, Visibility
from studio.portraits import galleries
from studio.portraits.galleries import Cursor, Filters, Page, Scope
from studio.portraits.models import Portrait
from studio.portraits.providers import available_providers
from studio.portraits.views.portraits import _file_response

# What a card shows: loading only these keeps the page query and the model instances small.
CARD_FIELDS = (
    "id",
    "owner_id",
    "character_id",
    "character__id",
    "character__name",
    "character__version",  # with character_version: the "older look" badge
    "character_version",
    "seed",
    "provider",  # with model: how a portrait without a character was made (Portrait.method_label)
    "model",
    "prompt",  # a title for a portrait without a character (Portrait.method_label)
    "status",
    "thumbnail",
    "width",
    "height",
    "is_public",
    "like_count",
    "created_at",
)


# Above this many characters the gallery's character filter lists only the chosen one.
CHARACTER_SELECT_MAX = 500


def _url_parts(name: str) -> tuple[str, str]:
    marker = 987654321
    prefix, suffix = reverse(name, args=[marker]).split(str(marker))
    return prefix, suffix


def attach_urls(portraits: list[Portrait], *, own: bool, query: str = "") -> None:
    """Give each card its links once per page: reverse() per link per card is a third of a page's time."""
    routes = {
        "detail_url": "studio:gallery_portrait" if own else "studio:community_portrait",
        "thumb_url": "studio:portrait_thumbnail" if own else "studio:community_thumbnail",
        "like_url": "studio:portrait_like",
        "favourite_url": "studio:portrait_favourite",
    }
    parts = {attribute: _url_parts(name) for attribute, name in routes.items()}
    detail_suffix = f"?{query}" if query else ""
    for portrait in portraits:
        for attribute, (prefix, suffix) in parts.items():
            setattr(portrait, attribute, f"{prefix}{portrait.pk}{suffix}")
        portrait.detail_url += detail_suffix
        portrait.title = portrait.character.name if portrait.character_id else portrait.method_label
        if not hasattr(portrait, "author_name"):  # annotated in the Community gallery only
            portrait.author_name = ""


def _provider_options() -> list[tuple[str, str]]:
    """The enabled providers, then "Imported" (the pictures of imported character cards)."""
    options = [(provider.name, provider.label) for provider in available_providers()]
    return [*options, (Portrait.IMPORTED, Portrait.PROVIDER_LABELS[Portrait.IMPORTED])]


def _metadata_options() -> dict[str, list[tuple[str, str]]]:
    """The models, sizes and qualities the enabled providers offer, for the "More filters" drawer."""
    options: dict[str, dict[str, str]] = {"models": {}, "sizes": {}, "qualities": {}}
    for provider in available_providers():
        for kind in options:
            for value, label in getattr(provider, kind):
                options[kind].setdefault(value, label)
    return {kind: list(values.items()) for kind, values in options.items()}


def _gallery(
    request: HttpRequest, scope: str, *, title: str, character: Character | None = None
) -> HttpResponse:
    filters = Filters.from_query(request.GET)
    galleries.drop_unknown_character(scope, request.user, filters)
    characters: Any = ()
    if scope == Scope.MINE:
        characters = galleries.character_choices(request.user)
        if len(characters) > CHARACTER_SELECT_MAX:
            # 20,000 imported characters would make a megabyte of <option>s on every page: the select then
            # offers the chosen one only, and a character's own gallery is one click from its page.
            characters = [(pk, name) for pk, name in characters if pk == filters.character]
    if character is not None:
        filters.character = character.pk
    after = request.GET.get("after", "")
    cursor = Cursor.decode(after) if after else None
    results_only = bool(request.htmx) and request.htmx.target == "gallery-results"
    scrolling = bool(request.htmx) and bool(after) and not results_only
    if scrolling and cursor is None:
        # A scroll request whose cursor is not one of ours: append nothing (the first page again would repeat
        # every card), and the end marker says so.
        page = Page([], None)
    else:
        portraits = galleries.gallery_queryset(scope, request.user, filters).only(*CARD_FIELDS)
        page = galleries.keyset_page(portraits, cursor)
    own = scope != Scope.COMMUNITY
    attach_urls(page.portraits, own=own, query=filters.query_string())
    # Filters travel in every link (next page, lightbox) so a reload or a shared link shows the same view.
    path_filters = Filters(**{**filters.__dict__, "character": None, "errors": []}) if character else filters
    query = path_filters.query_string()
    context: dict[str, Any] = {
        "scope": scope,
        "own": own,
        "title": title,
        "character": character,
        "filters": filters,
        "page": page,
        "query": query,
        "next_url": f"{request.path}?{path_filters.query_string(after=page.next_cursor)}"
        if page.next_cursor
        else None,
        "continued": cursor is not None or scrolling,
        # Read by every card's like and favourite button; present, so the lookup is cheap.
        "in_lightbox": False,
        "oob": False,
    }
    template_name = "studio/portraits/gallery.html"
    if request.htmx and request.htmx.target == "gallery-more-filters-body":
        context.update(appearance=galleries.appearance_choices(), **_metadata_options())
        return render(request, template_name + "#more_filters", context)
    if results_only:
        template_name += "#results"
    elif scrolling:
        template_name += "#page"
    else:
        context.update(
            providers=_provider_options(),
            statuses=Portrait.Status.choices,
            characters=characters,
            show_more=request.GET.get("more") == "1",
        )
        if filters.more_active or context["show_more"]:
            context.update(appearance=galleries.appearance_choices(), **_metadata_options())
        _warn_ignored_filters(request, filters)
    response = render(request, template_name, context)
    # One URL serves the full page, the results or a scroll page: caches (and the back/forward cache) must
    # never hand a bare partial to a plain page load.
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _warn_ignored_filters(request: HttpRequest, filters: Filters) -> None:
    for error in filters.errors:
        messages.warning(request, f"Ignored a filter. {error}")


@login_required
def my_gallery(request: HttpRequest) -> HttpResponse:
    return _gallery(request, Scope.MINE, title="My portraits")


@login_required
def character_gallery(request: HttpRequest, pk: int) -> HttpResponse:
    character = get_owned_or_404(request, Character.objects.only("id", "name", "owner_id"), pk=pk)
    return _gallery(request, Scope.CHARACTER, title=f"{character.name} · gallery", character=character)


def community_gallery(request: HttpRequest) -> HttpResponse:
    return _gallery(request, Scope.COMMUNITY, title="Community")


def _lightbox(request: HttpRequest, scope: str, portrait: Portrait) -> HttpResponse:
    filters = Filters.from_query(request.GET)
    galleries.drop_unknown_character(scope, request.user, filters)
    portraits = galleries.gallery_queryset(scope, request.user, filters)
    newer, older = galleries.neighbours(portraits, portrait)
    in_lightbox = bool(request.htmx)
    own = scope != Scope.COMMUNITY
    name = "studio:gallery_portrait" if own else "studio:community_portrait"
    query = filters.query_string()
    suffix = f"?{query}" if query else ""
    gallery_url = reverse("studio:my_gallery" if own else "studio:community_gallery") + suffix
    attach_urls([portrait], own=own, query=query)
    context = {
        "portrait": portrait,
        "own": own,
        "scope": scope,
        "query": query,
        "gallery_url": gallery_url,
        "previous_url": reverse(name, args=[newer.pk]) + suffix if newer else None,
        "next_url": reverse(name, args=[older.pk]) + suffix if older else None,
        "image_url": reverse(
            "studio:portrait_image" if own else "studio:community_image", args=[portrait.pk]
        ),
        "in_lightbox": in_lightbox,
    }
    template_name = "studio/portraits/gallery_portrait.html"
    if in_lightbox:
        template_name += "#lightbox"
    else:
        _warn_ignored_filters(request, filters)
    response = render(request, template_name, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@login_required
def gallery_portrait(request: HttpRequest, pk: int) -> HttpResponse:
    portraits = galleries.gallery_queryset(Scope.MINE, request.user, Filters())
    return _lightbox(request, Scope.MINE, get_owned_or_404(request, portraits, pk=pk))


def community_portrait(request: HttpRequest, pk: int) -> HttpResponse:
    portrait = get_object_or_404(galleries.gallery_queryset(Scope.COMMUNITY, request.user, Filters()), pk=pk)
    return _lightbox(request, Scope.COMMUNITY, portrait)


def _public_portrait(pk: int) -> Portrait:
    return get_object_or_404(Portrait.objects.select_related("character").filter(is_public=True), pk=pk)


# Shared caches may keep a community file only briefly: once its maker makes a portrait private, it must stop
# being served within a minute, not an hour. A minute still spares repeat requests while someone scrolls.
COMMUNITY_FILE_CACHE = "public, max-age=60"


def community_thumbnail(request: HttpRequest, pk: int) -> FileResponse:
    response = _file_response(_public_portrait(pk), thumbnail=True, download=False)
    response["Cache-Control"] = COMMUNITY_FILE_CACHE
    return response


def community_image(request: HttpRequest, pk: int) -> FileResponse:
    response = _file_response(_public_portrait(pk), thumbnail=False, download="download" in request.GET)
    response["Cache-Control"] = COMMUNITY_FILE_CACHE
    return response


def _back_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.META.get("HTTP_REFERER", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


def _back(request: HttpRequest, default: str) -> HttpResponse:
    return redirect(_back_url(request, default))


def _from_lightbox(request: HttpRequest, button: str, pk: int) -> bool:
    """Whether the lightbox's own button (id lightbox-<button>-<pk>) sent this HTMX request."""
    return bool(request.htmx) and request.htmx.trigger == f"lightbox-{button}-{pk}"


def _grid_card(request: HttpRequest) -> int | None:
    """The portrait whose grid card is behind the lightbox that sent this request, if the grid has it loaded.

    gallery.js sends it (`card`): the lightbox may have stepped past the last card loaded, and an out-of-band
    swap naming an element that is not on the page is an error in the browser (htmx:oobErrorNoTarget)."""
    return parse_id(request.POST.get("card", ""))


@login_required
@require_POST
def portrait_like(request: HttpRequest, pk: int) -> HttpResponse:
    portrait = get_object_or_404(galleries.visible_portraits(request.user), pk=pk)
    liked, _count = galleries.toggle_like(request.user, portrait)
    if request.htmx:
        portrait.liked = liked
        attach_urls([portrait], own=False)
        # From the lightbox, the grid card behind it gets the new count too (out of band).
        in_lightbox = _from_lightbox(request, "like", pk)
        context = {
            "portrait": portrait,
            "in_lightbox": in_lightbox,
            "grid_card": in_lightbox and _grid_card(request) == pk,
        }
        return render(request, "studio/portraits/gallery.html#like_result", context)
    messages.success(request, "Liked." if liked else "Like removed.")
    return _back(request, reverse("studio:my_gallery"))


@login_required
@require_POST
def portrait_favourite(request: HttpRequest, pk: int) -> HttpResponse:
    portrait = get_object_or_404(galleries.visible_portraits(request.user), pk=pk)
    favourite = galleries.toggle_favourite(request.user, portrait)
    if request.htmx:
        portrait.favourite = favourite
        attach_urls([portrait], own=False)
        in_lightbox = _from_lightbox(request, "favourite", pk)
        context = {
            "portrait": portrait,
            "in_lightbox": in_lightbox,
            "grid_card": in_lightbox and _grid_card(request) == pk,
        }
        return render(request, "studio/portraits/gallery.html#favourite_result", context)
    messages.success(request, "Added to favourites." if favourite else "Removed from favourites.")
    return _back(request, reverse("studio:my_gallery"))


BULK_ACTIONS = {"delete", "public", "private", "zip"}


@login_required
@require_POST
def gallery_bulk(request: HttpRequest) -> HttpResponse:
    """Delete, publish, unpublish or download the selected portraits; only the user's own are touched."""
    action = request.POST.get("action", "")
    selection, left_out = galleries.owned_selection(request.user, request.POST.getlist("ids"))
    if action not in BULK_ACTIONS:
        messages.error(request, "Choose what to do with the selected portraits.")
        return HttpResponse("", status=400) if request.htmx else _back(request, reverse("studio:my_gallery"))
    ids = list(selection.values_list("pk", flat=True))
    if not ids:
        messages.warning(request, "Select at least one of your portraits first.")
        return HttpResponse("") if request.htmx else _back(request, reverse("studio:my_gallery"))
    if left_out:
        limit = settings.GALLERY_BULK_LIMIT
        messages.warning(
            request,
            f"One action takes at most {limit} portraits: {left_out} of the selected portraits "
            f"{'was' if left_out == 1 else 'were'} left out. Select {'it' if left_out == 1 else 'them'} "
            "again to act on them.",
        )
    if action == "zip":
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response = StreamingHttpResponse(
            galleries.zip_stream(Portrait.objects.filter(pk__in=ids).order_by("-created_at", "-id")),
            content_type="application/zip",
        )
        response["Content-Disposition"] = f'attachment; filename="dali-portraits-{stamp}.zip"'
        return response
    if action == "delete":
        count = galleries.bulk_delete(selection)
        messages.success(request, f"Deleted {count} portrait{'' if count == 1 else 's'}.")
    else:
        count = galleries.bulk_set_visibility(selection, action)
        word = "public" if action == Visibility.PUBLIC else "private"
        messages.success(request, f"Made {count} portrait{'' if count == 1 else 's'} {word}.")
    if not request.htmx:
        return _back(request, reverse("studio:my_gallery"))
    if action == "delete" and request.POST.get("redirect"):
        # Deleted from the portrait's own page (not the lightbox): that page shows nothing any more.
        return HttpResponseClientRedirect(_back_url(request, reverse("studio:my_gallery")))
    # Out of band, only what the requesting page shows: the grid's bulk form ticks boxes inside the cards; the
    # lightbox and the portrait's page show the portrait's visibility label and button, and the lightbox has
    # a card behind it only when the grid has loaded that card.
    sent_from = request.POST.get("sent_from", "")
    cards = set(ids) if sent_from == "grid" else {_grid_card(request)} & set(ids)
    shows_portrait = sent_from == "portrait"
    portraits: list[Portrait] = []
    if action != "delete" and (cards or shows_portrait):
        portraits = list(Portrait.objects.filter(pk__in=ids).only("id", "visibility", "is_public"))
    response = render(
        request,
        "studio/portraits/gallery.html#bulk_result",
        {
            "action": action,
            "cards": sorted(cards),
            "portraits": [(portrait, portrait.pk in cards) for portrait in portraits],
            "shows_portrait": shows_portrait,
        },
    )
    response["HX-Trigger"] = "portraitsChanged"
    return response


# ---------------------------------------------------------------------------------------------------------
# Stats


def _bars(rows: list[tuple[str, int]]) -> dict[str, Any]:
    """A horizontal bar chart for the SVG partial: bar widths in percent of the largest value."""
    top = max((value for _, value in rows), default=0) or 1
    bars = [
        {"label": label, "value": value, "width": round(100 * value / top, 1), "y": index * 28}
        for index, (label, value) in enumerate(rows)
    ]
    return {"rows": bars if any(value for _, value in rows) else [], "height": len(bars) * 28}


def _months(model: type[Character] | type[Portrait], user: Any, since: dt.datetime) -> list[tuple[str, int]]:
    counts = {
        row["month"].date() if isinstance(row["month"], dt.datetime) else row["month"]: row["count"]
        for row in model.objects.filter(owner=user, created_at__gte=since)
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(count=Count("id"))
    }
    months: list[tuple[str, int]] = []
    day = since.date().replace(day=1)
    today = timezone.localdate()
    while day <= today:
        months.append((day.strftime("%b %Y"), counts.get(day, 0)))
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return months


@login_required
def gallery_stats(request: HttpRequest) -> HttpResponse:
    user = request.user
    today = timezone.localdate()
    since_day = (today.replace(day=1) - dt.timedelta(days=335)).replace(day=1)
    since = dt.datetime.combine(since_day, dt.time.min, tzinfo=timezone.get_current_timezone())
    providers = (
        Portrait.objects.filter(owner=user)
        .values("provider")
        .annotate(count=Count("id"))
        .order_by("-count", "provider")
    )
    attribute_counts: Counter[tuple[str, str]] = Counter()
    for row in Character.objects.filter(owner=user).values(*vocabulary.NAMES).iterator():
        for attribute in vocabulary.ATTRIBUTES:
            value = row[attribute.name]
            for key in (value or []) if attribute.multiple else [value] if value else []:
                attribute_counts[(attribute.label, attribute.label_of(key) or key)] += 1
    totals = Portrait.objects.filter(owner=user).aggregate(
        portraits=Count("id"), public=Count("id", filter=Q(is_public=True))
    )
    context = {
        "totals": totals,
        "character_total": Character.objects.filter(owner=user).count(),
        "characters_per_month": _bars(_months(Character, user, since)),
        "portraits_per_month": _bars(_months(Portrait, user, since)),
        "per_provider": _bars(
            [
                (Portrait.label_of_provider(row["provider"]) if row["provider"] else "unknown", row["count"])
                for row in providers
            ]
        ),
        "attributes": _bars(
            [(f"{label}: {value}", n) for (label, value), n in attribute_counts.most_common(12)]
        ),
        "most_liked": Portrait.objects.filter(owner=user, like_count__gt=0)
        .select_related("character")
        .order_by("-like_count", "-created_at")[:6],
    }
    return render(request, "studio/portraits/gallery_stats.html", context)
