"""The gallery workflow: keyset pages, public flags, likes, favourites, bulk actions, ZIP export, seeding."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.http import QueryDict
from django.utils import timezone
from PIL import Image

from studio.portraits import galleries
from studio.portraits.galleries import Cursor, Filters, Scope
from studio.portraits.models import Portrait
from studio.portraits.seeding import seed_portraits
from studio.tests.factories import CharacterFactory, PortraitFactory

pytestmark = pytest.mark.django_db


def png_bytes(colour: str = "red", size: int = 32) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, "PNG")
    return buffer.getvalue()


def make_portraits(owner, count: int, *, tie_every: int = 3, **fields) -> list[Portrait]:
    """count portraits, newest first, where each group of `tie_every` shares one created_at."""
    character = fields.pop("character", None) or CharacterFactory(owner=owner)
    base = timezone.now()
    return [
        PortraitFactory(
            character=character,
            owner=owner,
            created_at=base - dt.timedelta(seconds=index // tie_every),
            **fields,
        )
        for index in range(count)
    ]


def scroll(user, scope=Scope.MINE, filters=None, size=5, between_pages=None) -> list[int]:
    seen: list[int] = []
    cursor = None
    while True:
        page = galleries.keyset_page(
            galleries.gallery_queryset(scope, user, filters or Filters()), cursor, size
        )
        seen.extend(portrait.pk for portrait in page.portraits)
        if page.next_cursor is None:
            return seen
        cursor = Cursor.decode(page.next_cursor)
        if between_pages:
            between_pages(len(seen))


def test_it_pages_through_every_portrait_once_even_with_equal_timestamps(user):
    portraits = make_portraits(user, 23, tie_every=4)
    seen = scroll(user)
    expected = [p.pk for p in sorted(portraits, key=lambda p: (p.created_at, p.pk), reverse=True)]
    assert seen == expected


def test_it_neither_repeats_nor_skips_when_portraits_are_added_or_deleted_while_scrolling(user):
    portraits = make_portraits(user, 30, tie_every=3)
    ordered = [p.pk for p in sorted(portraits, key=lambda p: (p.created_at, p.pk), reverse=True)]
    deleted: list[int] = []

    def meddle(seen_so_far: int) -> None:
        # A new portrait arrives at the top, and one not yet seen is deleted.
        PortraitFactory(character=portraits[0].character, owner=user)
        victim = ordered[seen_so_far + 2]
        Portrait.objects.filter(pk=victim).delete()
        deleted.append(victim)

    seen = scroll(user, size=7, between_pages=meddle)
    assert len(seen) == len(set(seen))
    assert seen == [pk for pk in ordered if pk not in deleted]


def test_it_reads_a_cursor_back_and_rejects_garbage():
    cursor = Cursor(timezone.now(), 42)
    assert Cursor.decode(cursor.encode()) == cursor
    for junk in ("", "abc", "!!!", "MjAyNi0xMS0yMQ", Cursor(dt.datetime(2026, 1, 1), 1).encode()):
        assert Cursor.decode(junk) is None


def test_it_marks_portraits_public_when_either_they_or_their_character_are(user):
    character = CharacterFactory(owner=user)
    own_public = PortraitFactory(character=character, visibility="public")
    private = PortraitFactory(character=character)
    assert own_public.is_public and not private.is_public

    character.visibility = "public"
    character.save()
    private.refresh_from_db()
    assert private.is_public

    character.visibility = "private"
    character.save()
    private.refresh_from_db()
    own_public.refresh_from_db()
    assert not private.is_public
    assert own_public.is_public


def test_it_makes_a_portrait_of_a_public_character_public_from_the_start(user):
    character = CharacterFactory(owner=user, visibility="public")
    assert PortraitFactory(character=character).is_public


def test_it_toggles_a_like_and_keeps_the_count(user, other_user):
    portrait = PortraitFactory(character=CharacterFactory(owner=other_user), visibility="public")
    assert galleries.toggle_like(user, portrait) == (True, 1)
    assert galleries.toggle_like(other_user, portrait) == (True, 2)
    assert galleries.toggle_like(user, portrait) == (False, 1)
    assert portrait.likes.count() == 1


def test_it_toggles_a_private_favourite(user):
    portrait = PortraitFactory(character=CharacterFactory(owner=user))
    assert galleries.toggle_favourite(user, portrait) is True
    assert galleries.toggle_favourite(user, portrait) is False


def test_it_selects_only_the_users_own_portraits_for_bulk_actions(user, other_user):
    mine = PortraitFactory(character=CharacterFactory(owner=user))
    theirs = PortraitFactory(character=CharacterFactory(owner=other_user))
    selection, left_out = galleries.owned_selection(user, [str(mine.pk), str(theirs.pk), "nonsense", "-1"])
    assert list(selection) == [mine] and left_out == 0


def test_it_streams_a_zip_of_the_selected_pngs(user):
    character = CharacterFactory(owner=user, name="Iris Vane")
    portraits = []
    for colour in ("red", "blue", "green"):
        portrait = PortraitFactory(character=character)
        portrait.store_image(png_bytes(colour))
        portraits.append(portrait)
    PortraitFactory(character=character)  # no image yet: left out
    chunks = list(galleries.zip_stream(Portrait.objects.filter(owner=user), chunk_size=50))
    assert len(chunks) > 3  # produced piece by piece, not as one blob
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert archive.testzip() is None
    assert sorted(archive.namelist()) == sorted(f"iris-vane-{p.pk}.png" for p in portraits)
    for portrait in portraits:
        with portrait.image.open("rb") as file:
            assert archive.read(f"iris-vane-{portrait.pk}.png") == file.read()


def test_it_seeds_portraits_that_share_files_which_survive_deleting_one(user):
    created = seed_portraits(user, 30, characters=2, batch_size=7)
    assert created == 30
    assert Portrait.objects.filter(owner=user, status="succeeded").count() == 30
    first = Portrait.objects.filter(owner=user).first()
    thumbnail = first.thumbnail.name
    assert Portrait.objects.filter(thumbnail=thumbnail).count() > 1
    first.delete()
    assert default_storage.exists(thumbnail)
    assert len(scroll(user, size=8)) == 29


def test_it_seeds_portraits_from_the_command_line(user, capsys):
    call_command("studio", "seed-portraits", "12", "--user", user.email)
    assert Portrait.objects.filter(owner=user).count() == 12
    assert "Created 12 portraits" in capsys.readouterr().out


def test_seeded_portraits_do_not_use_up_the_daily_limit(user, settings):
    from studio.portraits.generation import queue_character_portrait, usage_today

    settings.DAILY_IMAGE_LIMIT = 10
    call_command("studio", "seed-portraits", "30", "--user", user.email)
    assert usage_today(user).images == 0
    queue_character_portrait(CharacterFactory(owner=user), size="64x64")  # not refused for the day
    assert usage_today(user).images == 1


def test_it_still_deletes_the_files_of_an_ordinary_portrait(user):
    portrait = PortraitFactory(character=CharacterFactory(owner=user))
    portrait.store_image(png_bytes())
    name = portrait.thumbnail.name
    portrait.delete()
    assert not default_storage.exists(name)


def test_it_searches_prompt_text(user):
    character = CharacterFactory(owner=user)
    wanted = PortraitFactory(character=character, prompt="A knight with red hair in a misty forest.")
    PortraitFactory(character=character, prompt="A wizard with grey hair in a library.")
    filters = Filters.from_query(QueryDict("q=forest"))
    assert list(galleries.gallery_queryset(Scope.MINE, user, filters)) == [wanted]


def test_it_keeps_valid_filters_and_names_the_invalid_ones():
    filters = Filters.from_query(QueryDict("provider=local&character=abc&date_from=yesterday"))
    assert filters.provider == "local"
    assert filters.character is None and filters.date_from is None
    assert len(filters.errors) == 2
    assert filters.query_string() == "provider=local"


def test_it_rejects_a_cursor_whose_time_cannot_be_converted_or_whose_id_is_out_of_range():
    import base64

    def token(raw: str) -> str:
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    assert token("0001-01-01T00:00:00+05:00_5") == "MDAwMS0wMS0wMVQwMDowMDowMCswNTowMF81"
    for raw in (
        "0001-01-01T00:00:00+05:00_5",  # before year 1 in UTC
        "9999-12-31T23:59:59-05:00_5",  # after year 9999 in UTC
        "1850-06-01T00:00:00+00:00_5",  # older than any portrait could be
        f"2026-01-01T00:00:00+00:00_{10**30}",  # overflows a 64-bit id
        "2026-01-01T00:00:00+00:00_-3",
    ):
        assert Cursor.decode(token(raw)) is None, raw
    assert Cursor.decode(token("2026-01-01T00:00:00+05:00_5")) is not None


def test_it_names_a_date_filter_outside_the_calendar_it_can_compute_with():
    filters = Filters.from_query(QueryDict("date_to=9999-12-31&date_from=0001-01-01&provider=local"))
    assert filters.date_to is None and filters.date_from is None
    assert filters.provider == "local"
    assert len(filters.errors) == 2
    assert all("between 1900 and 9998" in error for error in filters.errors)
    kept = Filters.from_query(QueryDict("date_from=1900-01-01&date_to=9998-12-31"))
    assert kept.date_from == dt.date(1900, 1, 1) and kept.date_to == dt.date(9998, 12, 31)
    assert galleries.gallery_queryset(Scope.MINE, None, kept).count() == 0


def test_it_says_how_many_selected_ids_were_over_the_bulk_limit(user, settings):
    settings.GALLERY_BULK_LIMIT = 2
    portraits = [PortraitFactory(character=CharacterFactory(owner=user)) for _ in range(3)]
    selection, left_out = galleries.owned_selection(user, [str(p.pk) for p in portraits])
    assert selection.count() == 2 and left_out == 1
    selection, left_out = galleries.owned_selection(user, [str(portraits[0].pk)])
    assert left_out == 0


def test_it_seeds_failed_liked_and_favourite_portraits_without_changing_the_others(user, other_user):
    plain = seed_portraits(other_user, 60, characters=2)
    assert plain == 60
    seed_portraits(user, 60, characters=2, failed_fraction=0.3, liked_fraction=0.4, favourite_fraction=0.3)
    mine = list(Portrait.objects.filter(owner=user).order_by("-created_at", "-id"))
    theirs = list(Portrait.objects.filter(owner=other_user).order_by("-created_at", "-id"))
    assert [(p.provider, p.seed) for p in mine] == [(p.provider, p.seed) for p in theirs]
    failed = [p for p in mine if p.status == "failed"]
    assert 0 < len(failed) < 60 and all(not p.image and p.error_message for p in failed)

    def shown(query: str) -> set[int]:
        return {
            p.pk for p in galleries.gallery_queryset(Scope.MINE, user, Filters.from_query(QueryDict(query)))
        }

    assert shown("status=failed") == {p.pk for p in failed}
    liked = shown("liked=1")
    assert liked and liked == {p.pk for p in mine if p.like_count == 1}
    assert not liked & {p.pk for p in failed}
    assert shown("favourites=1") and shown("favourites=1").isdisjoint(p.pk for p in failed)
