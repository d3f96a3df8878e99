"""Character.portrait_count (the characters list's count and sort) stays equal to the painted portraits."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from studio.characters.models import Character
from studio.deletion import delete_in_batches
from studio.portraits import counts
from studio.portraits.demo import seed_demo
from studio.portraits.jobs import run_portrait_job
from studio.portraits.models import Portrait
from studio.portraits.seeding import seed_portraits
from studio.tests.factories import CharacterFactory, PortraitFactory

pytestmark = pytest.mark.django_db


def stored(character: Character) -> int:
    return Character.objects.values_list("portrait_count", flat=True).get(pk=character.pk)


def actual(character: Character) -> int:
    return Portrait.objects.filter(character=character).exclude(thumbnail="").count()


def painted(character: Character, **fields) -> Portrait:
    return PortraitFactory(character=character, status="succeeded", thumbnail="portraits/t.webp", **fields)


# ---------------------------------------------------------------------------------------------------------
# Generation


def test_a_job_that_succeeds_counts_once_and_a_queued_or_failed_one_not_at_all(user):
    character = CharacterFactory(owner=user)
    job = PortraitFactory(character=character)
    PortraitFactory(character=character, status="failed")
    assert stored(character) == 0

    assert run_portrait_job(job.pk) == "succeeded"

    assert stored(character) == actual(character) == 1
    assert run_portrait_job(job.pk) == "skipped", "not claimable again"
    assert stored(character) == 1


def test_a_second_image_under_the_same_claim_is_discarded_and_not_counted(user):
    character = CharacterFactory(owner=user)
    job = PortraitFactory(character=character)
    claim = job.mark_running()
    png = _png()
    assert job.store_image(png, claim=claim)
    assert not Portrait.objects.get(pk=job.pk).store_image(png, claim=claim)
    assert stored(character) == actual(character) == 1


def test_a_failed_job_retried_until_it_succeeds_counts_once(user):
    character = CharacterFactory(owner=user)
    job = PortraitFactory(character=character, provider="no-such-provider")
    assert run_portrait_job(job.pk) == "failed"
    assert stored(character) == 0
    Portrait.objects.filter(pk=job.pk).update(provider="local")
    job.refresh_from_db()
    assert job.requeue()

    assert run_portrait_job(job.pk) == "succeeded"

    assert stored(character) == actual(character) == 1


def test_an_image_stored_without_a_claim_is_recounted_not_added_twice(user):
    character = CharacterFactory(owner=user)
    job = PortraitFactory(character=character)
    assert job.store_image(_png())
    assert job.store_image(_png()), "a second image replaces the first"
    assert stored(character) == actual(character) == 1
    job.save()  # the instance knows its image is counted
    assert stored(character) == 1


def test_the_demo_counts_its_painted_portraits():
    seed_demo(portraits_per_character=2)
    characters = Character.objects.filter(owner__email="demo@example.com")
    assert [stored(character) for character in characters] == [2, 2, 2]


# ---------------------------------------------------------------------------------------------------------
# Saving a portrait


def test_saving_a_portrait_moves_the_counts_with_its_thumbnail_and_character(user):
    first, second = CharacterFactory(owner=user), CharacterFactory(owner=user)
    portrait = painted(first)
    assert (stored(first), stored(second)) == (1, 0)

    portrait.character = second
    portrait.save()
    assert (stored(first), stored(second)) == (0, 1)

    portrait.thumbnail = ""
    portrait.save(update_fields=["thumbnail"])
    assert (stored(first), stored(second)) == (0, 0)

    portrait.thumbnail = "portraits/again.webp"
    portrait.save()
    portrait.prompt = "Edited."
    portrait.save()
    portrait.save(update_fields=["prompt"])
    assert (stored(first), stored(second)) == (0, 1)


def test_saving_a_portrait_loaded_without_its_thumbnail_recounts(user):
    character = CharacterFactory(owner=user)
    portrait = painted(character)
    Character.objects.filter(pk=character.pk).update(portrait_count=7)
    partial = Portrait.objects.only("id", "character_id").get(pk=portrait.pk)
    partial.thumbnail = "portraits/other.webp"
    partial.save(update_fields=["thumbnail"])
    assert stored(character) == 1


def test_a_refreshed_instance_is_not_counted_again_when_saved(user):
    character = CharacterFactory(owner=user)
    job = PortraitFactory(character=character)
    stale = Portrait.objects.get(pk=job.pk)
    run_portrait_job(job.pk)
    stale.refresh_from_db()
    stale.save()
    assert stored(character) == actual(character) == 1


def test_saving_a_character_loaded_earlier_keeps_the_count_painted_since(user):
    character = CharacterFactory(owner=user)
    stale = Character.objects.get(pk=character.pk)
    painted(character)
    stale.notes = "Edited in another tab."
    stale.save()
    assert stored(character) == 1
    assert Character.objects.get(pk=character.pk).notes == "Edited in another tab."


# ---------------------------------------------------------------------------------------------------------
# Deleting


def test_deleting_a_portrait_from_its_page_takes_it_off_the_count(logged_in_client, user, htmx_headers):
    character = CharacterFactory(owner=user)
    first, _second = painted(character), painted(character)
    failed = PortraitFactory(character=character, status="failed")

    logged_in_client.post(reverse("studio:portrait_delete", args=[first.pk]), **htmx_headers)
    assert stored(character) == actual(character) == 1
    logged_in_client.post(reverse("studio:portrait_delete", args=[failed.pk]), **htmx_headers)
    assert stored(character) == actual(character) == 1


def test_a_gallery_bulk_delete_updates_every_character_in_one_statement(
    logged_in_client, user, other_user, htmx_headers
):
    ada, bram = CharacterFactory(owner=user), CharacterFactory(owner=user)
    gone = [painted(ada), painted(ada), painted(bram), painted(bram), PortraitFactory(character=bram)]
    painted(ada)
    theirs = CharacterFactory(owner=other_user)
    not_mine = painted(theirs)
    ids = [portrait.pk for portrait in gone] + [not_mine.pk]

    with CaptureQueriesContext(connection) as captured:
        response = logged_in_client.post(
            reverse("studio:gallery_bulk"), {"action": "delete", "ids": ids}, **htmx_headers
        )

    assert "Deleted 5 portraits." in response.text
    assert (stored(ada), stored(bram), stored(theirs)) == (1, 0, 1)
    count_updates = [q for q in captured.captured_queries if "portrait_count" in q["sql"]]
    assert len(count_updates) == 1, "both lost two: one UPDATE for the deletion, not one per portrait"


def test_deleting_in_batches_with_deferred_fields_counts_without_a_query_per_row(user):
    ada, bram = CharacterFactory(owner=user), CharacterFactory(owner=user)
    for _ in range(5):
        painted(ada)
        painted(bram)
    PortraitFactory(character=ada, status="failed")
    painted(CharacterFactory(owner=user))

    with CaptureQueriesContext(connection) as captured:
        delete_in_batches(Portrait.objects.filter(character__in=[ada, bram]).only("image", "thumbnail"), 4)

    assert (stored(ada), stored(bram)) == (0, 0)
    one_row = [q["sql"] for q in captured.captured_queries if 'WHERE "studio_portrait"."id" = ' in q["sql"]]
    assert one_row == [], "no deferred field loaded row by row"
    grouped = [
        q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT") and "COUNT(" in q["sql"]
    ]
    assert len(grouped) == 3, "one grouped count per batch"


def test_deleting_a_character_or_its_owner_deletes_its_portraits_without_error(user, other_user):
    character = CharacterFactory(owner=user)
    painted(character)
    kept = CharacterFactory(owner=other_user)
    painted(kept)
    character.delete()
    assert not Portrait.objects.filter(character_id=character.pk).exists()
    painted(CharacterFactory(owner=user))
    user.delete()
    assert stored(kept) == 1


def test_the_cli_deletes_a_character_and_its_portraits(user):
    from django.core.management import call_command

    character = CharacterFactory(owner=user)
    painted(character)
    call_command("studio", "delete-character", str(character.pk), "--yes")
    assert not Character.objects.filter(pk=character.pk).exists()


# ---------------------------------------------------------------------------------------------------------
# Bulk inserts, the recount and the migration's backfill


def test_seeded_portraits_are_counted_painted_ones_only(user):
    seed_portraits(user, 40, characters=3, failed_fraction=0.3, files=[_shared_file()])
    characters = Character.objects.filter(owner=user)
    assert sum(stored(character) for character in characters) < 40, "some failed"
    assert [stored(character) for character in characters] == [actual(character) for character in characters]


def test_refresh_portrait_counts_recounts_in_batches(user, monkeypatch):
    monkeypatch.setattr(counts, "BATCH", 2)
    cast = [CharacterFactory(owner=user) for _ in range(5)]
    for number, character in enumerate(cast):
        for _ in range(number):
            painted(character)
    PortraitFactory(character=cast[0], status="failed")
    Character.objects.update(portrait_count=9)

    assert counts.refresh_portrait_counts([character.pk for character in cast[1:]] + [None]) == 4

    assert [stored(character) for character in cast] == [9, 1, 2, 3, 4], "only those asked for"


def test_the_migration_backfills_every_characters_painted_portraits(user, other_user):
    migration = importlib.import_module("studio.migrations.0020_character_portrait_count")
    ada, bram, bare = CharacterFactory(owner=user), CharacterFactory(owner=user), CharacterFactory(owner=user)
    painted(ada)
    painted(ada)
    PortraitFactory(character=ada, status="failed")
    painted(bram)
    theirs = CharacterFactory(owner=other_user)
    painted(theirs)
    PortraitFactory(character=None, owner=user, status="succeeded", thumbnail="portraits/lab.webp")
    Character.objects.update(portrait_count=0)

    migration.backfill_portrait_counts(apps, None)

    assert [stored(c) for c in (ada, bram, bare, theirs)] == [2, 1, 0, 1]


# ---------------------------------------------------------------------------------------------------------


def _png() -> bytes:
    from studio import painter

    return painter.render_png({"hair_color": "red"}, seed=1, size=64)


def _shared_file():
    from studio.portraits.seeding import SharedFiles

    return SharedFiles("portraits/shared/a.png", "portraits/shared/a.webp", 64, 64, 100, "0" * 64)


# ---------------------------------------------------------------------------------------------------------
# The CLI's recount


def test_recount_portraits_fixes_only_the_counts_that_went_wrong_and_says_how_many(user, other_user):
    from io import StringIO

    from django.core.management import call_command

    right, drifted = CharacterFactory(owner=user), CharacterFactory(owner=user)
    painted(right)
    painted(drifted)
    painted(drifted)
    other = CharacterFactory(owner=other_user)
    Character.objects.filter(pk=drifted.pk).update(portrait_count=7)  # a count that drifted in a race
    Character.objects.filter(pk=other.pk).update(portrait_count=3)

    out = StringIO()
    call_command("studio", "recount-portraits", "--user", user.email, stdout=out)
    assert "Checked 2 characters: 1 count was wrong, now fixed." in out.getvalue()
    assert (stored(right), stored(drifted)) == (1, 2)
    assert stored(other) == 3, "--user keeps to that user's characters"

    out = StringIO()
    call_command("studio", "recount-portraits", stdout=out)
    assert "Checked 3 characters: 1 count was wrong, now fixed." in out.getvalue()
    assert stored(other) == 0
    out = StringIO()
    call_command("studio", "recount-portraits", stdout=out)
    assert "Checked 3 characters: every portrait count is right." in out.getvalue()


def test_recount_portraits_for_an_unknown_user_is_a_clear_error(db):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match=r"No user with the email 'nobody@example\.com'"):
        call_command("studio", "recount-portraits", "--user", "nobody@example.com")
