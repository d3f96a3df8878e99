"""The galleries' "More filters" drawer, hidden cancelled jobs, prompt titles and Community credits."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from studio.portraits.models import title_from_prompt
from studio.tests.factories import CharacterFactory, PortraitFactory

pytestmark = pytest.mark.django_db

MINE = reverse("studio:my_gallery")
COMMUNITY = reverse("studio:community_gallery")


def card_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'id="card-(\d+)"', html)]


def test_it_hides_cancelled_placeholders_unless_asked(logged_in_client, user):
    character = CharacterFactory(owner=user)
    painted = PortraitFactory(character=character, status="succeeded")
    cancelled = PortraitFactory(character=character, status="cancelled")
    assert card_ids(logged_in_client.get(MINE).text) == [painted.pk]
    assert card_ids(logged_in_client.get(MINE, {"cancelled": "1"}).text) == [cancelled.pk, painted.pk]
    assert card_ids(logged_in_client.get(MINE, {"status": "cancelled"}).text) == [cancelled.pk]


def test_it_filters_by_any_appearance_attribute_of_the_character(logged_in_client, user):
    red = PortraitFactory(character=CharacterFactory(owner=user, hair_color="red"))
    PortraitFactory(character=CharacterFactory(owner=user, hair_color="black"))
    glasses = PortraitFactory(character=CharacterFactory(owner=user, accessories=["scarf", "glasses"]))
    PortraitFactory(character=CharacterFactory(owner=user, accessories=["scarf"]))
    assert card_ids(logged_in_client.get(MINE, {"look": "hair_color:red"}).text) == [red.pk]
    assert card_ids(logged_in_client.get(MINE, {"look": "accessories:glasses"}).text) == [glasses.pk]


def test_it_filters_by_generation_metadata(logged_in_client, user):
    character = CharacterFactory(owner=user)
    wanted = PortraitFactory(
        character=character,
        provider="openai",
        model="gpt-image-1",
        parameters={"size": "1024x1024", "quality": "high"},
        estimated_cost=Decimal("0.17"),
    )
    PortraitFactory(
        character=character, provider="openai", model="gpt-image-1", parameters={"size": "512x512"}
    )
    PortraitFactory(character=character, provider="local", estimated_cost=Decimal("0"))
    query = {
        "model": "gpt-image-1",
        "size": "1024x1024",
        "quality": "high",
        "cost_min": "0.1",
        "cost_max": "0.2",
    }
    response = logged_in_client.get(MINE, query)
    assert card_ids(response.text) == [wanted.pk]
    assert re.search(r"<details[^>]*gallery-more-filters[^>]*open", response.text), "the drawer opens"


def test_the_more_filters_drawer_loads_its_fields_when_opened(logged_in_client, user):
    response = logged_in_client.get(MINE)
    drawer = re.search(r"<details[^>]*gallery-more-filters[^>]*>", response.text).group(0)
    assert "open" not in drawer and "More filters" in response.text
    assert "<optgroup" not in response.text, "some 300 options stay out of every page"
    assert 'hx-trigger="toggle once from:closest details"' in response.text
    fields = logged_in_client.get(
        MINE, {"more": "1"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="gallery-more-filters-body"
    )
    assert '<optgroup label="Hair colour">' in fields.text and "<html" not in fields.text
    without_js = logged_in_client.get(MINE, {"more": "1"}).text
    assert re.search(r"<details[^>]*gallery-more-filters[^>]*open", without_js)
    assert '<optgroup label="Hair colour">' in without_js


@pytest.mark.parametrize(
    "query, problem",
    [
        ({"provider": "nope"}, "Provider: “nope” is not a provider"),
        ({"character": "999999"}, "Character: no character of yours"),
        ({"look": "hair_color:plaid"}, "Appearance: “hair_color:plaid” is not an appearance choice"),
        ({"size": "banana"}, "Size: Write a size as width x height"),
        ({"cost_min": "-1"}, "Cost from:"),
    ],
)
def test_it_ignores_an_unknown_filter_value_with_a_message(logged_in_client, user, query, problem):
    portrait = PortraitFactory(character=CharacterFactory(owner=user))
    response = logged_in_client.get(MINE, query)
    assert response.status_code == 200
    assert "Ignored a filter" in response.text and problem in response.text
    assert card_ids(response.text) == [portrait.pk]


def test_a_filtered_page_still_takes_three_queries(logged_in_client, user):
    character = CharacterFactory(owner=user, hair_color="red")
    PortraitFactory.create_batch(3, character=character, parameters={"size": "512x512"})
    logged_in_client.get(MINE)
    with CaptureQueriesContext(connection) as captured:
        logged_in_client.get(
            MINE,
            {"look": "hair_color:red", "size": "512x512"},
            HTTP_HX_REQUEST="true",
            HTTP_HX_TARGET="gallery-results",
        )
    assert len(captured) == 3


def test_a_quick_generate_portrait_is_titled_by_its_prompt(logged_in_client, user):
    PortraitFactory(owner=user, character=None, prompt="a child astronaut floating in space, pixel art")
    response = logged_in_client.get(MINE)
    assert 'text-break">A child astronaut floating in space</span>' in response.text
    assert ">Portrait</span>" not in response.text


def test_a_long_prompt_title_is_cut_at_a_word():
    title = title_from_prompt("an extraordinarily detailed lighthouse keeper standing on the rocks at dawn")
    assert title == "An extraordinarily detailed lighthouse keeper…"
    assert title_from_prompt("   ") == "Portrait"


def test_the_community_credits_the_author_only_when_they_opt_in(client, user, other_user):
    user.display_name, user.credit_in_community = "Ada Quill", True
    user.save()
    other_user.display_name = "Hidden Hand"
    other_user.save()
    PortraitFactory(character=CharacterFactory(owner=user), visibility="public", status="succeeded")
    PortraitFactory(character=CharacterFactory(owner=other_user), visibility="public", status="succeeded")
    page = client.get(COMMUNITY).text
    assert "by Ada Quill" in page
    assert "Hidden Hand" not in page
    assert user.email not in page and other_user.email not in page


def test_the_character_filter_stays_small_with_thousands_of_characters(logged_in_client, user, monkeypatch):
    from studio.portraits.views import galleries as gallery_views

    monkeypatch.setattr(gallery_views, "CHARACTER_SELECT_MAX", 3)
    chosen, *others = CharacterFactory.create_batch(5, owner=user)
    page = logged_in_client.get(MINE).text
    assert not any(f'<option value="{c.pk}"' in page for c in [chosen, *others])
    filtered = logged_in_client.get(MINE, {"character": chosen.pk}).text
    assert f'<option value="{chosen.pk}" selected>' in filtered
    assert not any(f'<option value="{c.pk}"' in filtered for c in others)
