"""Gallery queries: scopes, filters, keyset pages, neighbours, likes, favourites, bulk actions, ZIP export.

Every gallery is ordered newest first by (created_at, id) and paged by keyset: a page is the 24 rows after a
cursor (the last row's created_at and id), fetched as 25 so a 25th row says there is a next page. No OFFSET
(whose cost grows with the page number) and no COUNT(*) (whose cost grows with the table).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.core.cache import caches
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Greatest
from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify

from studio.access import parse_id
from studio.characters import vocabulary
from studio.characters.models import Character, Visibility
from studio.portraits.models import Favourite, Like, Portrait
from studio.portraits.providers import PROVIDERS

PAGE_SIZE = 24

# The dates a filter or a cursor may name. Past 9998 "the day after" (an exclusive end) and the conversion to
# UTC overflow Python's datetime; before 1900 no portrait was made.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(9998, 12, 31)


class Scope:
    MINE = "mine"
    CHARACTER = "character"
    COMMUNITY = "community"


# ---------------------------------------------------------------------------------------------------------
# Cursors


@dataclass(frozen=True)
class Cursor:
    created_at: dt.datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}_{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    @classmethod
    def of(cls, portrait: Portrait) -> Cursor:
        return cls(portrait.created_at, portrait.pk)

    @classmethod
    def decode(cls, token: str) -> Cursor | None:
        """The cursor in a URL token, or None for anything that is not one (bad input never 500s)."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
            stamp, _, pk = raw.rpartition("_")
            created_at = parse_datetime(stamp)
            if created_at is None or timezone.is_naive(created_at):
                return None
            # The database compares in UTC: a time whose UTC day is outside the calendar would overflow there.
            if not EARLIEST_DATE <= created_at.astimezone(dt.UTC).date() <= LATEST_DATE:
                return None
        except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
            return None
        id_ = parse_id(pk)  # a whole number that fits the database's id column, or None
        return cls(created_at, id_) if id_ is not None else None


def _older_than(cursor: Cursor) -> Q:
    # The redundant created_at <= t lets every database turn the row comparison into an index range.
    return Q(created_at__lte=cursor.created_at) & (
        Q(created_at__lt=cursor.created_at) | Q(created_at=cursor.created_at, id__lt=cursor.id)
    )


def _newer_than(cursor: Cursor) -> Q:
    return Q(created_at__gte=cursor.created_at) & (
        Q(created_at__gt=cursor.created_at) | Q(created_at=cursor.created_at, id__gt=cursor.id)
    )


# ---------------------------------------------------------------------------------------------------------
# Filters


def _date_field(label: str) -> forms.DateField:
    message = f"Choose a date between {EARLIEST_DATE.year} and {LATEST_DATE.year}."
    return forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[MinValueValidator(EARLIEST_DATE, message), MaxValueValidator(LATEST_DATE, message)],
    )


def _cost_field(label: str) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, required=False, min_value=0, max_digits=10, decimal_places=4, localize=False
    )


# Every provider name a portrait may carry: the registry's, the style lab's and a card import's.
KNOWN_PROVIDERS = frozenset({*PROVIDERS, "style", Portrait.IMPORTED})


def appearance_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The appearance filter's options, grouped by attribute: ("Hair colour", [("hair_color:red", "Red")])."""
    return [
        (attribute.label, [(f"{attribute.name}:{choice.key}", choice.label) for choice in attribute.choices])
        for attribute in vocabulary.ATTRIBUTES
    ]


class GalleryFilterForm(forms.Form):
    q = forms.CharField(label="Search prompts", required=False, max_length=200)
    character = forms.IntegerField(label="Character", required=False, min_value=1)
    provider = forms.CharField(label="Provider", required=False, max_length=40)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *Portrait.Status.choices]
    )
    liked = forms.BooleanField(label="Liked by me", required=False)
    favourites = forms.BooleanField(label="Favourites", required=False)
    date_from = _date_field("From")
    date_to = _date_field("To")
    # The "More filters" drawer.
    look = forms.CharField(label="Appearance", required=False, max_length=80)
    model = forms.CharField(label="Model", required=False, max_length=80)
    size = forms.RegexField(
        label="Size",
        required=False,
        regex=r"^[1-9][0-9]{0,4}x[1-9][0-9]{0,4}$",
        error_messages={"invalid": "Write a size as width x height, e.g. 1024x1024."},
    )
    quality = forms.CharField(label="Quality", required=False, max_length=20)
    cost_min = _cost_field("Cost from")
    cost_max = _cost_field("Cost to")
    cancelled = forms.BooleanField(label="Show cancelled", required=False)

    def clean_provider(self) -> str:
        provider = self.cleaned_data["provider"].strip()
        if provider and provider not in KNOWN_PROVIDERS:
            raise forms.ValidationError(f"“{provider}” is not a provider of this studio.")
        return provider

    def clean_look(self) -> str:
        look = self.cleaned_data["look"].strip()
        if not look:
            return ""
        name, _, key = look.partition(":")
        attribute = vocabulary.BY_NAME.get(name)
        if attribute is None or attribute.get(key) is None:
            raise forms.ValidationError(f"“{look}” is not an appearance choice.")
        return look


FILTER_NAMES = tuple(GalleryFilterForm.base_fields)


@dataclass
class Filters:
    q: str = ""
    character: int | None = None
    provider: str = ""
    status: str = ""
    liked: bool = False
    favourites: bool = False
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    look: str = ""
    model: str = ""
    size: str = ""
    quality: str = ""
    cost_min: Decimal | None = None
    cost_max: Decimal | None = None
    cancelled: bool = False
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_query(cls, query: QueryDict) -> Filters:
        """The valid filters of a query string; invalid ones are dropped and named in errors."""
        form = GalleryFilterForm(query)
        form.is_valid()
        defaults = cls()
        values = {
            name: value if (value := form.cleaned_data.get(name)) is not None else getattr(defaults, name)
            for name in FILTER_NAMES
        }
        errors = [f"{form.fields[name].label}: {messages[0]}" for name, messages in form.errors.items()]
        return cls(**values, errors=errors)

    def query_string(self, **extra: Any) -> str:
        """The filters as a URL query (empty ones left out), so a link reproduces the same view."""
        params = QueryDict(mutable=True)
        for name in FILTER_NAMES:
            value = getattr(self, name)
            if value in (None, "", False):
                continue
            params[name] = "1" if value is True else str(value)
        for name, value in extra.items():
            if value:
                params[name] = value
        return params.urlencode()

    @property
    def active(self) -> bool:
        return bool(self.query_string())

    @property
    def more_active(self) -> bool:
        """Whether a filter of the "More filters" drawer is set (the drawer then opens)."""
        return any(getattr(self, name) not in (None, "", False) for name in MORE_FILTERS)


MORE_FILTERS = ("look", "model", "size", "quality", "cost_min", "cost_max", "cancelled")


def _search(portraits: QuerySet[Portrait], text: str) -> QuerySet[Portrait]:
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        # Same expression as the GIN index of migration 0004, so the planner can use it.
        return portraits.alias(search=SearchVector("prompt", config="english")).filter(
            search=SearchQuery(text, config="english", search_type="websearch")
        )
    words = text.split()[:8]
    for word in words:
        portraits = portraits.filter(prompt__icontains=word)
    return portraits


def gallery_queryset(scope: str, user: Any, filters: Filters) -> QuerySet[Portrait]:
    """The portraits a gallery shows to this user, filtered, newest first, with what a card needs."""
    authenticated = bool(user and user.is_authenticated)
    if scope == Scope.COMMUNITY:
        portraits = Portrait.objects.filter(is_public=True, status=Portrait.Status.SUCCEEDED)
        # Credited by name only where the author opted in (accounts.User.credit_in_community).
        credited = When(owner__credit_in_community=True, then=F("owner__display_name"))
        portraits = portraits.annotate(author_name=Case(credited, default=Value("")))
    else:
        portraits = Portrait.objects.filter(owner=user)
    if filters.character:
        portraits = portraits.filter(character_id=filters.character)
    if filters.provider:
        portraits = portraits.filter(provider=filters.provider)
    if filters.status and scope != Scope.COMMUNITY:
        portraits = portraits.filter(status=filters.status)
    elif scope != Scope.COMMUNITY and not filters.cancelled:
        # A cancelled job never painted anything: its placeholder is noise unless asked for.
        portraits = portraits.exclude(status=Portrait.Status.CANCELLED)
    if filters.look:
        name, _, key = filters.look.partition(":")
        if vocabulary.BY_NAME[name].multiple:
            # A JSON list of keys: a key in quotes matches that key only (keys are slugs), on every database.
            portraits = portraits.filter(**{f"character__{name}__icontains": f'"{key}"'})
        else:
            portraits = portraits.filter(**{f"character__{name}": key})
    if filters.model:
        portraits = portraits.filter(model=filters.model)
    if filters.size:
        portraits = portraits.filter(parameters__size=filters.size)
    if filters.quality:
        portraits = portraits.filter(parameters__quality=filters.quality)
    if filters.cost_min is not None:
        portraits = portraits.filter(estimated_cost__gte=filters.cost_min)
    if filters.cost_max is not None:
        portraits = portraits.filter(estimated_cost__lte=filters.cost_max)
    if filters.date_from:
        start = dt.datetime.combine(filters.date_from, dt.time.min, tzinfo=timezone.get_current_timezone())
        portraits = portraits.filter(created_at__gte=start)
    if filters.date_to:
        end = dt.datetime.combine(
            filters.date_to + dt.timedelta(days=1), dt.time.min, tzinfo=timezone.get_current_timezone()
        )
        portraits = portraits.filter(created_at__lt=end)
    if filters.q.strip():
        portraits = _search(portraits, filters.q.strip())
    if authenticated:
        liked = Exists(Like.objects.filter(user=user, portrait=OuterRef("pk")))
        favourite = Exists(Favourite.objects.filter(user=user, portrait=OuterRef("pk")))
        portraits = portraits.annotate(liked=liked, favourite=favourite)
        if filters.liked:
            portraits = portraits.filter(liked=True)
        if filters.favourites:
            portraits = portraits.filter(favourite=True)
    else:
        portraits = portraits.annotate(liked=Value(False), favourite=Value(False))
        if filters.liked or filters.favourites:
            portraits = portraits.none()
    return portraits.select_related("character").order_by("-created_at", "-id")


def character_choices(user: Any) -> list[tuple[int, str]]:
    """(id, name) of the user's characters, by name, for the character filter.

    Cached under the user's characters_version, which every add, rename and delete bumps: the user row is
    loaded by every request anyway, so a current list costs no query, and a stale one is never read (the
    key changes), even from a per-process cache.
    """
    key = f"gallery:characters:{user.pk}:{user.characters_version}"
    choices = caches["local"].get(key)
    if choices is None:
        choices = list(Character.objects.filter(owner=user).order_by("name", "id").values_list("id", "name"))
        caches["local"].set(key, choices, timeout=24 * 3600)
    return choices


def drop_unknown_character(scope: str, user: Any, filters: Filters) -> None:
    """A character filter that names no character the viewer can see is dropped and named in errors.

    My portraits: the viewer's own characters. Community: a public character, one with a portrait in the
    Community gallery, or one of the viewer's own (anyone else's private character reads as one that does
    not exist). A character's own gallery takes the character from its URL, already owner-checked.
    """
    if not filters.character or scope == Scope.CHARACTER:
        return
    if scope == Scope.MINE:
        if filters.character in dict(character_choices(user)):
            return
        error = "Character: no character of yours has that number."
    else:
        shared = Portrait.objects.filter(
            character=OuterRef("pk"), is_public=True, status=Portrait.Status.SUCCEEDED
        )
        visible = Q(visibility=Visibility.PUBLIC) | Q(Exists(shared))
        if user and user.is_authenticated:
            visible |= Q(owner=user)
        if Character.objects.filter(visible, pk=filters.character).exists():
            return
        error = "Character: no character you can see has that number."
    filters.errors.append(error)
    filters.character = None


@dataclass
class Page:
    portraits: list[Portrait]
    next_cursor: str | None


def keyset_page(portraits: QuerySet[Portrait], cursor: Cursor | None, size: int = PAGE_SIZE) -> Page:
    """One page after the cursor; one query, no OFFSET, no COUNT."""
    if cursor is not None:
        portraits = portraits.filter(_older_than(cursor))
    rows = list(portraits[: size + 1])
    has_next = len(rows) > size
    rows = rows[:size]
    return Page(rows, Cursor.of(rows[-1]).encode() if has_next and rows else None)


def neighbours(portraits: QuerySet[Portrait], portrait: Portrait) -> tuple[Portrait | None, Portrait | None]:
    """(newer, older) than this portrait in the same gallery, for previous/next navigation."""
    cursor = Cursor.of(portrait)
    bare = portraits.select_related(None).only("id", "created_at")
    newer = bare.filter(_newer_than(cursor)).order_by("created_at", "id").first()
    older = bare.filter(_older_than(cursor)).first()
    return newer, older


# ---------------------------------------------------------------------------------------------------------
# Likes and favourites


def visible_portraits(user: Any) -> QuerySet[Portrait]:
    """Portraits this user may see (and like or star): their own and the community's."""
    if user.is_authenticated:
        return Portrait.objects.filter(Q(owner=user) | Q(is_public=True))
    return Portrait.objects.filter(is_public=True)


def toggle_like(user: Any, portrait: Portrait) -> tuple[bool, int]:
    """Like or unlike; returns (liked now, new count). The count moves with F() so racing clicks add up."""
    with transaction.atomic():
        deleted, _ = Like.objects.filter(user=user, portrait=portrait).delete()
        if deleted:
            Portrait.objects.filter(pk=portrait.pk).update(like_count=Greatest(F("like_count") - 1, 0))
            liked = False
        else:
            try:
                with transaction.atomic():
                    Like.objects.create(user=user, portrait=portrait)
            except IntegrityError:  # a double click raced us; it is liked either way
                pass
            else:
                Portrait.objects.filter(pk=portrait.pk).update(like_count=F("like_count") + 1)
            liked = True
    portrait.refresh_from_db(fields=["like_count"])
    return liked, portrait.like_count


def toggle_favourite(user: Any, portrait: Portrait) -> bool:
    deleted, _ = Favourite.objects.filter(user=user, portrait=portrait).delete()
    if deleted:
        return False
    Favourite.objects.get_or_create(user=user, portrait=portrait)
    return True


# ---------------------------------------------------------------------------------------------------------
# Bulk actions


def owned_selection(user: Any, ids: list[str]) -> tuple[QuerySet[Portrait], int]:
    """The user's own portraits among the first GALLERY_BULK_LIMIT ids posted, and how many ids were over
    that limit (for the user to be told). Anyone else's ids are silently ignored."""
    clean = sorted({pk for pk in map(parse_id, ids) if pk is not None})
    kept = clean[: settings.GALLERY_BULK_LIMIT]
    return Portrait.objects.filter(owner=user, pk__in=kept), len(clean) - len(kept)


def bulk_delete(portraits: QuerySet[Portrait]) -> int:
    # Through the ORM (not a raw DELETE) so post_delete removes each portrait's files.
    _total, by_model = portraits.delete()
    return by_model.get(Portrait._meta.label, 0)


def bulk_set_visibility(portraits: QuerySet[Portrait], visibility: str) -> int:
    return Portrait.sync_public_flags(portraits, visibility=visibility)


class _ChunkSink:
    """A write-only file for zipfile whose written bytes are drained by the response generator."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._position = 0

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def zip_stream(portraits: QuerySet[Portrait], chunk_size: int = 256 * 1024) -> Iterator[bytes]:
    """The portraits' PNGs as a ZIP, produced chunk by chunk: one file's chunk in memory at a time."""
    sink = _ChunkSink()
    # PNGs are already compressed; storing them is as small and much faster.
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED) as archive:  # type: ignore[arg-type]
        for portrait in portraits.select_related("character").exclude(image="").iterator(chunk_size=200):
            title = portrait.character.name if portrait.character else "portrait"
            name = f"{slugify(title) or 'portrait'}-{portrait.pk}.png"
            try:
                source = portrait.image.open("rb")
            except FileNotFoundError:
                continue
            with source, archive.open(name, "w", force_zip64=True) as target:
                while block := source.read(chunk_size):
                    target.write(block)
                    if data := sink.drain():
                        yield data
            if data := sink.drain():
                yield data
    if data := sink.drain():
        yield data
