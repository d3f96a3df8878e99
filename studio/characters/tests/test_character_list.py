from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from studio.characters.listing import PAGE_SIZE
from studio.characters.models import Character
from studio.portraits.models import Portrait
from studio.tests.factories import CharacterFactory, PortraitFactory

pytestmark = pytest.mark.django_db

LIST = reverse("studio:character_list")


def _names(html: str) -> list[str]:
    return re.findall(r'<h2 class="h6 card-title[^"]*">([^<]+)</h2>', html)


def _next_url(html: str) -> str:
    return re.search(r'id="character-more-link" href="([^"]+)"', html).group(1).replace("&amp;", "&")


def test_it_shows_the_newest_painted_portrait_as_the_cover_and_counts_the_portraits(logged_in_client, user):
    character = CharacterFactory(owner=user, name="Ada")
    old = PortraitFactory(character=character, status="succeeded", thumbnail="portraits/thumbs/a.webp")
    new = PortraitFactory(character=character, status="succeeded", thumbnail="portraits/thumbs/b.webp")
    PortraitFactory(character=character, status="failed")
    Portrait.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=1))
    response = logged_in_client.get(LIST)
    card = response.text.split(f'id="character-{character.pk}"')[1]
    assert reverse("studio:portrait_thumbnail", args=[new.pk]) in card
    assert reverse("studio:portrait_thumbnail", args=[old.pk]) not in card
    assert '2<span class="visually-hidden"> portraits</span>' in card


def test_a_chosen_cover_wins_over_the_newest_portrait_on_the_card(logged_in_client, user):
    from studio.portraits.references import set_cover

    character = CharacterFactory(owner=user, name="Ada")
    chosen = PortraitFactory(character=character, status="succeeded", thumbnail="portraits/thumbs/a.webp")
    newer = PortraitFactory(character=character, status="succeeded", thumbnail="portraits/thumbs/b.webp")
    Portrait.objects.filter(pk=chosen.pk).update(created_at=timezone.now() - dt.timedelta(days=1))
    set_cover(chosen)

    card = logged_in_client.get(LIST).text.split(f'id="character-{character.pk}"')[1]

    assert reverse("studio:portrait_thumbnail", args=[chosen.pk]) in card
    assert reverse("studio:portrait_thumbnail", args=[newer.pk]) not in card


def test_it_shows_a_placeholder_for_a_character_without_portraits(logged_in_client, user):
    CharacterFactory(owner=user, name="Bare", hair_color="red", art_style="watercolor")
    response = logged_in_client.get(LIST)
    assert "Red hair\u00a0· Watercolour" in response.text, "the card's key attributes, most telling first"
    assert "bi-person-bounding-box" in response.text
    assert "/thumb.webp" not in response.text
    assert '0<span class="visually-hidden"> portraits</span>' in response.text


def test_it_sorts_by_update_by_default_and_by_name_or_portrait_count_on_request(logged_in_client, user):
    now = timezone.now()
    for offset, name in enumerate(["Cleo", "Ada", "Bram"]):
        character = CharacterFactory(owner=user, name=name)
        Character.objects.filter(pk=character.pk).update(updated_at=now - dt.timedelta(hours=offset))
    painted = {"status": "succeeded", "thumbnail": "portraits/thumbs/t.webp"}
    PortraitFactory.create_batch(3, character=Character.objects.get(name="Cleo"), **painted)
    PortraitFactory.create_batch(2, character=Character.objects.get(name="Bram"), **painted)
    PortraitFactory.create_batch(4, character=Character.objects.get(name="Ada"), status="failed")
    assert _names(logged_in_client.get(LIST).text) == ["Cleo", "Ada", "Bram"]
    assert _names(logged_in_client.get(LIST, {"sort": "name"}).text) == ["Ada", "Bram", "Cleo"]
    # Painted portraits only (the failed ones have no picture): not the order of creation, nor of update.
    assert _names(logged_in_client.get(LIST, {"sort": "portraits"}).text) == ["Cleo", "Bram", "Ada"]


def test_the_portraits_sort_pages_by_the_stored_count_ties_broken_by_id(logged_in_client, user):
    cast = [CharacterFactory(owner=user, name=f"Hero {number:03}") for number in range(PAGE_SIZE * 2 + 5)]
    painted = {"status": "succeeded", "thumbnail": "portraits/thumbs/t.webp"}
    for number, character in enumerate(cast):
        PortraitFactory.create_batch(number * 7 % 4, character=character, **painted)
    expected = [c.name for c in sorted(cast, key=lambda c: (-(cast.index(c) * 7 % 4), -c.pk))]

    seen: list[str] = []
    response = logged_in_client.get(LIST, {"sort": "portraits"})
    first_card = response.text.split(f'id="character-{Character.objects.get(name=expected[0]).pk}"')[1]
    assert '3<span class="visually-hidden"> portraits</span>' in first_card
    for _page in range(4):
        seen += _names(response.text)
        if "character-more-link" not in response.text:
            break
        with CaptureQueriesContext(connection) as captured:
            response = logged_in_client.get(_next_url(response.text))
        page_sql = " ".join(query["sql"] for query in captured.captured_queries).upper()
        assert "GROUP BY" not in page_sql and "COUNT(" not in page_sql, "the stored count, not an aggregate"
    assert seen == expected, "every character once, in (count, id) order, across the pages"


@pytest.mark.parametrize("sort", ["updated", "name", "portraits"])
def test_it_pages_through_every_character_once_without_js(logged_in_client, user, sort):
    now = timezone.now()
    for number in range(PAGE_SIZE * 2 + 3):
        character = CharacterFactory(owner=user, name=f"Hero {number:03}")
        # Ties on the sort value: the id breaks them, so no card repeats or goes missing.
        Character.objects.filter(pk=character.pk).update(updated_at=now - dt.timedelta(hours=number // 5))
    seen: list[str] = []
    response = logged_in_client.get(LIST, {"sort": sort})
    for _page in range(3):
        seen += _names(response.text)
        if "character-more-link" not in response.text:
            break
        response = logged_in_client.get(_next_url(response.text))
        assert response.status_code == 200
    assert "That's all of them." in response.text
    assert sorted(seen) == sorted(f"Hero {number:03}" for number in range(PAGE_SIZE * 2 + 3))


def test_it_appends_only_the_next_cards_to_an_infinite_scroll(logged_in_client, user, htmx_headers):
    for number in range(PAGE_SIZE + 1):
        CharacterFactory(owner=user, name=f"Hero {number:03}")
    first = logged_in_client.get(LIST, {"sort": "name"})
    assert 'hx-trigger="revealed"' in first.text
    response = logged_in_client.get(_next_url(first.text), HTTP_HX_TARGET="character-more", **htmx_headers)
    assert _names(response.text) == [f"Hero {PAGE_SIZE:03}"]
    assert "<html" not in response.text
    assert "That's all of them." in response.text


def test_it_loads_a_page_in_a_fixed_number_of_queries(logged_in_client, user, htmx_headers):
    for character in CharacterFactory.create_batch(30, owner=user):
        PortraitFactory.create_batch(2, character=character, status="succeeded", thumbnail="t.webp")
    first = logged_in_client.get(LIST)
    with CaptureQueriesContext(connection) as captured:
        logged_in_client.get(_next_url(first.text), HTTP_HX_TARGET="character-more", **htmx_headers)
    # Session, user, and one for the page with its covers and counts.
    assert len(captured) == 3


def test_it_says_so_for_a_scroll_link_that_is_not_one_of_ours(logged_in_client, user, htmx_headers):
    CharacterFactory(owner=user)
    response = logged_in_client.get(
        LIST, {"after": "garbage!"}, HTTP_HX_TARGET="character-more", **htmx_headers
    )
    assert response.status_code == 200
    assert "This link has expired" in response.text


def test_it_ignores_an_unknown_sort_with_a_message(logged_in_client, user):
    CharacterFactory(owner=user, name="Ada")
    response = logged_in_client.get(LIST, {"sort": "shoe-size"}, follow=True)
    assert "Ada" in response.text
    assert "Ignored an unknown sort" in response.text
