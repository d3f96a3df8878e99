"""The characters list: sorts, each card's cover and portrait count, keyset pages.

A page is one query: the cover (the chosen one, else the newest painted portrait) is a correlated subquery
evaluated for the page's rows only, through the portraits' (character, created_at, id) index; the portrait
count is the character's stored portrait_count (kept by studio/portraits/counts.py), so sorting by it is an
index range like the other sorts, never a join and GROUP BY over every character.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.apps import apps
from django.db.models import BigIntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince

from studio import keyset
from studio.characters import vocabulary
from studio.characters.models import Character

PAGE_SIZE = 24

SORTS: dict[str, tuple[str, keyset.Order]] = {
    "updated": ("Recently updated", keyset.Order("updated_at", descending=True, kind=dt.datetime)),
    "name": ("Name", keyset.Order("name", descending=False, kind=str)),
    "portraits": ("Most portraits", keyset.Order("portrait_count", descending=True, kind=int)),
}
DEFAULT_SORT = "updated"

# What a card says about a character, in this order: (attribute, what follows its value's label).
# The most telling first: a card has room for two or three.
KEY_ATTRIBUTES = (
    ("hair_color", " hair"),
    ("art_style", ""),
    ("eye_color", " eyes"),
    ("age", ""),
    ("gender", ""),
)
# Only what a card shows is loaded: fewer columns to read and fewer fields per instance.
_CARD_FIELDS = (
    "id",
    "owner_id",
    "name",
    "visibility",
    "updated_at",
    "portrait_count",
    *(name for name, _ in KEY_ATTRIBUTES),
)


def _painted_portraits() -> QuerySet:
    # The portraits feature sits above this one (it imports characters, never the reverse): its model is
    # looked up by name so this module imports nothing from it. A painted portrait is one with a thumbnail;
    # no status condition, which SQLite would serve from the (status, lease) index, reading every succeeded
    # portrait of every user once per card, instead of the character's own rows.
    portrait = apps.get_model("studio", "Portrait")
    return portrait.objects.filter(character=OuterRef("pk")).exclude(thumbnail="")


def with_cards(characters: QuerySet[Character], sort: str = DEFAULT_SORT) -> QuerySet[Character]:
    """The characters with what a card shows: cover_id (the chosen cover, else the newest painted portrait)
    and the stored portrait_count. `sort` is kept for callers: every sort reads the same columns."""
    newest = _painted_portraits().order_by("-created_at", "-id").values("id")[:1]
    # A cover the user chose (the portraits feature's CharacterLook, looked up by name like Portrait) wins.
    look = apps.get_model("studio", "CharacterLook")
    chosen = look.objects.filter(character=OuterRef("pk"), cover__isnull=False).values("cover_id")[:1]
    cover = Coalesce(Subquery(chosen), Subquery(newest), output_field=BigIntegerField())
    return characters.only(*_CARD_FIELDS).annotate(cover_id=cover)


def character_page(characters: QuerySet[Character], sort: str, after: str) -> tuple[keyset.KeysetPage, bool]:
    """(the page after the cursor token, whether the token was one of ours)."""
    order = SORTS[sort][1]
    cursor = order.decode(after) if after else None
    if after and cursor is None:
        return keyset.KeysetPage([], None), False
    page = keyset.keyset_page(with_cards(characters, sort), order, cursor, PAGE_SIZE)
    _attach_card_text(page.rows)
    return page, True


def _url_parts(name: str) -> tuple[str, str]:
    marker = 987654321
    prefix, suffix = reverse(name, args=[marker]).split(str(marker))
    return prefix, suffix


def _attach_card_text(characters: list[Any]) -> None:
    """Each card's links and summary, built once per page: reverse() and filters per card add up."""
    cover, detail = _url_parts("studio:portrait_thumbnail"), _url_parts("studio:character_detail")
    attributes = [(vocabulary.BY_NAME[name], after) for name, after in KEY_ATTRIBUTES]
    now = timezone.now()
    for character in characters:
        updated = character.updated_at
        fresh = now - updated < dt.timedelta(minutes=1)
        character.updated_label = "just now" if fresh else f"{timesince(updated, now, depth=1)} ago"
        character.cover_url = f"{cover[0]}{character.cover_id}{cover[1]}" if character.cover_id else ""
        character.url = f"{detail[0]}{character.pk}{detail[1]}"
        # A no-break space before each dot keeps it at the end of a line, never starting the next one.
        character.summary = "\u00a0· ".join(
            f"{label.partition(' (')[0]}{after}"  # "Young adult (18-29)" reads "Young adult" on a card
            for attribute, after in attributes
            if (label := attribute.label_of(getattr(character, attribute.name)))
        )
