"""A portrait public through its character says so, and points to the character instead of a "Make public"."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from studio.portraits.tests.test_galleries import png_bytes
from studio.tests.factories import CharacterFactory, PortraitFactory

pytestmark = pytest.mark.django_db


def button(html: str, pk: int) -> str:
    return re.search(rf'<span id="visibility-button-{pk}"[^>]*>(.*?)</span>', html, re.S).group(1)


def state(html: str, pk: int) -> str:
    return re.search(rf'<span id="visibility-state-{pk}"[^>]*>(.*?)</span>', html, re.S).group(1)


@pytest.fixture
def through_character(user):
    portrait = PortraitFactory(character=CharacterFactory(owner=user, visibility="public"))
    portrait.store_image(png_bytes())
    assert portrait.visibility == "private" and portrait.is_public
    return portrait


def test_the_lightbox_and_portrait_page_point_to_the_character_instead_of_make_public(
    logged_in_client, through_character, htmx_headers
):
    portrait = through_character
    edit = reverse("studio:character_edit", args=[portrait.character_id])
    url = reverse("studio:gallery_portrait", args=[portrait.pk])
    for headers in ({}, htmx_headers):  # its own page, then the lightbox
        page = logged_in_client.get(url, **headers).text
        assert "Public with its character" in state(page, portrait.pk)
        assert "its character is public" not in page
        offered = button(page, portrait.pk)
        assert "Make public" not in offered and "Make private" not in offered
        assert f'href="{edit}#id_visibility"' in offered and "Change on the character" in offered


def test_an_own_public_flag_still_offers_make_private_and_then_the_character_link(
    logged_in_client, through_character, htmx_headers
):
    portrait = through_character
    portrait.visibility = "public"
    portrait.save()
    page = logged_in_client.get(reverse("studio:gallery_portrait", args=[portrait.pk])).text
    assert "Make private" in button(page, portrait.pk)
    assert "with its character" not in state(page, portrait.pk)
    # Made private, it stays public through its character: the swapped-in label and link say so.
    fields = {"ids": portrait.pk, "sent_from": "portrait", "action": "private"}
    response = logged_in_client.post(reverse("studio:gallery_bulk"), fields, **htmx_headers)
    assert f'<span id="visibility-state-{portrait.pk}" hx-swap-oob="true">' in response.text
    assert "Public with its character" in state(response.text, portrait.pk)
    swapped = button(response.text, portrait.pk)
    assert "Change on the character" in swapped and "Make public" not in swapped


def test_a_private_portrait_of_a_private_character_still_offers_make_public(logged_in_client, user):
    portrait = PortraitFactory(character=CharacterFactory(owner=user))
    page = logged_in_client.get(reverse("studio:gallery_portrait", args=[portrait.pk])).text
    assert "Make public" in button(page, portrait.pk) and "Private" in state(page, portrait.pk)
    assert "Change on the character" not in page
