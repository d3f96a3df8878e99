"""The tables every generation job and gallery request writes carry no index another index already covers."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

HOT_TABLES = ("studio_portrait", "studio_like", "studio_favourite")


def _indexes(table: str) -> dict[str, dict]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {
        name: info
        for name, info in constraints.items()
        # Expression indexes (the full-text one) have no plain column list to compare.
        if info["index"] and info["columns"] and None not in info["columns"]
    }


@pytest.mark.parametrize("table", HOT_TABLES)
def test_no_plain_index_is_the_leading_prefix_of_another(table):
    indexes = _indexes(table)
    redundant = [
        (name, other)
        for name, info in indexes.items()
        if not info["unique"] and not info["primary_key"]
        for other, other_info in indexes.items()
        if other != name and other_info["columns"][: len(info["columns"])] == info["columns"]
    ]
    assert redundant == []


def test_the_gallery_indexes_still_lead_with_owner_and_character():
    """Dropping the foreign keys' own indexes relies on these: lookups and ON DELETE CASCADE use them."""
    columns = {tuple(info["columns"]) for info in _indexes("studio_portrait").values()}
    assert ("owner_id", "created_at", "id") in columns
    assert ("character_id", "created_at", "id") in columns
