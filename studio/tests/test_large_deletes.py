from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from studio.characters.models import Character
from studio.portraits.models import Like, Portrait
from studio.tests.factories import CharacterFactory, PortraitFactory

# PostgreSQL with server-side binding refuses a statement of more than 65,535 parameters; Django's deletion
# collector used to send every related id of a deletion in one IN (...). SQLite's backend always batched.
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the parameter limit is PostgreSQL's"),
]

MANY = 100_000


def copies(instance, count: int, *, select: str = "", join: str = "", **columns: str) -> None:
    """Insert `count` copies of a saved row in one INSERT ... SELECT (seconds, where bulk_create of 100,000
    rows takes a minute): `columns` maps a column to the SQL it gets instead of the original's value, where
    `g` counts 1..count, or `c.id` runs over the rows of `join` when that replaces generate_series."""
    model = type(instance)
    names = [field.column for field in model._meta.concrete_fields if not field.primary_key]
    values = ", ".join(columns.get(name, f't."{name}"') for name in names)
    source = join or "generate_series(1, %(count)s) AS g"
    table = connection.ops.quote_name(model._meta.db_table)
    targets = ", ".join(connection.ops.quote_name(name) for name in names)
    sql = f"INSERT INTO {table} ({targets}) SELECT {values} FROM {table} AS t, {source} "  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} WHERE t.id = %(pk)s {select}", {"count": count, "pk": instance.pk})


def with_own_file(portrait: Portrait) -> Portrait:
    portrait.image.save("own.png", ContentFile(b"png"), save=True)
    return portrait


def test_it_binds_statements_server_side_so_the_limit_applies():
    assert connection.settings_dict["OPTIONS"].get("server_side_binding") is True
    assert connection.features.max_query_params <= 65_535


def test_it_sizes_bulk_inserts_under_the_parameter_limit():
    fields = [field for field in Character._meta.concrete_fields if not field.primary_key]
    rows = [Character()] * MANY
    batch = connection.ops.bulk_batch_size(fields, rows)
    assert 0 < batch < MANY
    assert batch * len(fields) <= 65_535
    assert connection.ops.bulk_batch_size(["pk"], rows) <= 65_535


def test_it_deletes_an_account_with_100000_characters_and_portraits(reauthenticated_client, user, other_user):
    logged_in_client = reauthenticated_client
    character = CharacterFactory(owner=user, name="Orla")
    copies(character, MANY - 1, name="t.name || ' ' || g")
    portrait = with_own_file(PortraitFactory(character=character, seed=1))
    others = "AND c.name LIKE 'Orla %%'"
    copies(portrait, MANY - 1, join="studio_character AS c", select=others, character_id="c.id")
    Like.objects.create(user=other_user, portrait=portrait)
    kept = PortraitFactory(character=CharacterFactory(owner=other_user))
    assert (Character.objects.filter(owner=user).count(), Portrait.objects.filter(owner=user).count()) == (
        MANY,
        MANY,
    )
    started = time.perf_counter()
    response = logged_in_client.post(reverse("account_delete"), {"confirm_email": user.email})
    elapsed = time.perf_counter() - started
    assert response.status_code == 302
    assert not get_user_model().objects.filter(pk=user.pk).exists()
    assert not Character.objects.filter(owner_id=user.pk).exists()
    assert not Portrait.objects.filter(owner_id=user.pk).exists()
    assert not Like.objects.exists()
    assert not default_storage.exists(portrait.image.name)
    assert Portrait.objects.filter(pk=kept.pk).exists()
    print(f"account deletion of {MANY} characters with a portrait each: {elapsed:.1f} s")


def test_it_deletes_a_character_with_100000_portraits_from_the_cli(user, capsys):
    character = CharacterFactory(owner=user, name="Orla")
    portrait = with_own_file(PortraitFactory(character=character))
    copies(portrait, MANY - 1)
    started = time.perf_counter()
    call_command("studio", "delete-character", str(character.pk), "--yes")
    elapsed = time.perf_counter() - started
    assert f"Deleted “Orla” of {user.email} and its {MANY:,} portraits." in capsys.readouterr().out
    assert not Character.objects.filter(pk=character.pk).exists()
    assert not Portrait.objects.exists()
    assert not default_storage.exists(portrait.image.name)
    print(f"delete-character with {MANY} portraits: {elapsed:.1f} s")


def test_it_deletes_more_characters_than_one_statement_may_name_with_one_queryset_delete(user):
    # What bench/csv_import.py does after its 100,000-row import; 70,000 is past the limit and cheaper.
    count = 70_000
    copies(CharacterFactory(owner=user), count - 1, name="t.name || ' ' || g")
    started = time.perf_counter()
    Character.objects.all().delete()
    elapsed = time.perf_counter() - started
    assert not Character.objects.exists()
    print(f"Character.objects.all().delete() of {count}: {elapsed:.1f} s")
