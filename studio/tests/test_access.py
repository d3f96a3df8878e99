from __future__ import annotations

import pytest
from django.urls import reverse

from studio.access import parse_id
from studio.portraits.models import Portrait
from studio.tests.factories import CharacterFactory, PortraitFactory


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        (" 7 ", 7),
        ("0", 0),
        ("¹", None),
        ("٣", None),
        ("-3", None),
        ("1e3", None),
        ("", None),
        ("9" * 18, int("9" * 18)),
        ("9" * 19, None),
        (None, None),
    ],
)
def test_it_reads_only_plain_ascii_whole_numbers_that_fit_a_primary_key(text, expected):
    assert parse_id(text) == expected


@pytest.mark.django_db
def test_it_ignores_unicode_digits_in_a_bulk_selection_instead_of_failing(logged_in_client, user):
    portrait = PortraitFactory(character=CharacterFactory(owner=user))
    response = logged_in_client.post(
        reverse("studio:gallery_bulk"), {"ids": ["¹", "9" * 30, str(portrait.pk)], "action": "delete"}
    )
    assert response.status_code in (200, 302)
    assert not Portrait.objects.filter(pk=portrait.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("remix", ["¹", "9" * 30])
def test_it_opens_quick_generate_for_a_nonsense_remix_id_without_failing(logged_in_client, remix):
    response = logged_in_client.get(reverse("studio:quick_generate"), {"remix": remix})
    assert response.status_code in (200, 404)
    assert "Quick generate" in response.text or response.status_code == 404
