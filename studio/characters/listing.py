"""The characters list: sorts, each card's cover and portrait count, keyset pages.

A page is one query: the cover (the newest painted portrait, until characters get chosen covers) and the
portrait count are correlated subqueries evaluated for the page's rows only, through the portraits'
(character, created_at, id) index, never a join and GROUP BY over every character.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.apps import apps
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse

from studio import keyset
from studio.characters.models import Character

PAGE_SIZE = 24

SORTS: dict[str, tuple[str, keyset.Order]] = {
    "updated": ("Recently updated", keyset.Order("updated_at", descending=True, kind=dt.datetime)),
    "name": ("Name", keyset.Order("name", descending=False, kind=str)),
    "portraits": ("Most portraits", keyset.Order("portrait_count", descending=True, kind=int)),
}
DEFAULT_SORT = "updated"

# The long text fields no card shows.
_NOT_ON_A_CARD = ("distinguishing_features", "negative_prompt", "notes")


def _painted_portraits() -> QuerySet:
    # The portraits feature sits above this one (it imports characters, never the reverse): its model is
    # looked up by name so this module imports nothing from it. A painted portrait is one with a thumbnail;
    # no status condition, which SQLite would serve from the (status, lease) index, reading every succeeded
    # portrait of every user once per card, instead of the character's own rows.
    portrait = apps.get_model("studio", "Portrait")
    return portrait.objects.filter(character=OuterRef("pk")).exclude(thumbnail="")


def with_cards(characters: QuerySet[Character]) -> QuerySet[Character]:
    """The characters with what a card shows: cover_id (newest painted portrait) and portrait_count."""
    newest = _painted_portraits().order_by("-created_at", "-id").values("id")[:1]
    count = _painted_portraits().order_by().values("character").annotate(n=Count("id")).values("n")
    return characters.defer(*_NOT_ON_A_CARD).annotate(
        cover_id=Subquery(newest),
        portrait_count=Coalesce(Subquery(count, output_field=IntegerField()), Value(0)),
    )


def character_page(characters: QuerySet[Character], sort: str, after: str) -> tuple[keyset.KeysetPage, bool]:
    """(the page after the cursor token, whether the token was one of ours)."""
    order = SORTS[sort][1]
    cursor = order.decode(after) if after else None
    if after and cursor is None:
        return keyset.KeysetPage([], None), False
    page = keyset.keyset_page(with_cards(characters), order, cursor, PAGE_SIZE)
    _attach_cover_urls(page.rows)
    return page, True


def _attach_cover_urls(characters: list[Any]) -> None:
    # One reverse() per page, not per card.
    marker = 987654321
    prefix, suffix = reverse("studio:portrait_thumbnail", args=[marker]).split(str(marker))
    for character in characters:
        character.cover_url = f"{prefix}{character.cover_id}{suffix}" if character.cover_id else ""
