from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from studio.characters.models import Character
from studio.portraits.files import UnreadableImageError
from studio.portraits.models import Portrait
from studio.tests.factories import CharacterFactory, PortraitFactory
from studio.tests.fakes import png_bytes

pytestmark = pytest.mark.django_db


def test_it_bumps_the_version_when_anything_in_the_prompt_changes():
    character = CharacterFactory(hair_color="black")
    assert character.version == 1
    character.hair_color = "red"
    character.save()
    assert character.version == 2
    character.accessories = ["hat"]
    character.save()
    assert Character.objects.get(pk=character.pk).version == 3


def test_it_keeps_the_version_when_only_notes_or_name_change():
    character = CharacterFactory()
    character.notes = "Backstory."
    character.name = "Renamed"
    character.save()
    assert Character.objects.get(pk=character.pk).version == 1


def test_it_bumps_the_version_after_a_fresh_load_too():
    character = CharacterFactory(hair_color="black")
    loaded = Character.objects.get(pk=character.pk)
    loaded.negative_prompt = "blurry"
    loaded.save(update_fields=["negative_prompt"])
    assert Character.objects.get(pk=character.pk).version == 2


def test_it_reads_partially_loaded_rows_without_extra_queries(django_assert_num_queries):
    CharacterFactory()
    with django_assert_num_queries(1):
        names = [c.name for c in Character.objects.only("id", "name")]
    assert len(names) == 1


def test_it_lists_filled_attributes_with_their_labels():
    character = CharacterFactory(hair_color="platinum", accessories=["glasses", "crown"], eye_color="")
    rows = dict(character.attribute_rows())
    assert rows["Hair colour"] == "Platinum blonde"
    assert rows["Accessories"] == "Glasses, Crown"
    assert "Eye colour" not in rows


def test_a_portraits_lease_is_renewed_only_under_its_claim():
    portrait = PortraitFactory()
    claim = portrait.mark_running(lease_seconds=5)
    first_lease = portrait.lease_expires_at
    assert portrait.renew_lease(claim, lease_seconds=600)
    assert Portrait.objects.get(pk=portrait.pk).lease_expires_at - first_lease > timedelta(seconds=590)
    assert not portrait.renew_lease("someone else's claim")
    portrait.mark_failed("transient", "busy", claim=claim)
    assert not portrait.renew_lease(claim), "a finished attempt has no lease"


def test_an_image_that_cannot_be_saved_leaves_no_file_and_no_half_stored_row(monkeypatch, settings):
    from django.core.files.storage import FileSystemStorage

    portrait = PortraitFactory()
    claim = portrait.mark_running()
    real_save = FileSystemStorage._save

    def disk_full_for_thumbnails(self, name, content):
        if name.endswith(".webp"):
            raise OSError(28, "No space left on device")
        return real_save(self, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", disk_full_for_thumbnails)
    with pytest.raises(OSError, match="No space left"):
        portrait.store_image(png_bytes(), {}, claim=claim)
    assert not list(Path(settings.MEDIA_ROOT).rglob("*.png")), "the PNG saved first was removed"
    stored = Portrait.objects.get(pk=portrait.pk)
    assert (stored.status, stored.image.name) == ("running", "")


def test_an_unreadable_image_is_refused_before_anything_is_stored(settings):
    portrait = PortraitFactory()
    claim = portrait.mark_running()
    with pytest.raises(UnreadableImageError):
        portrait.store_image(png_bytes(64, 64)[:100], {}, claim=claim)
    assert not Path(settings.MEDIA_ROOT).exists() or not list(Path(settings.MEDIA_ROOT).rglob("*.*"))
    assert Portrait.objects.get(pk=portrait.pk).status == "running"


def test_a_claim_is_one_statement_that_returns_the_job_as_claimed(django_assert_num_queries):
    portrait = PortraitFactory(status="queued", attempts=1, parameters={"size": "1024x1024"})

    with django_assert_num_queries(1):
        claimed, token = Portrait.claim(portrait.pk, lease_seconds=60)

    assert (claimed.pk, claimed.status, claimed.attempts, claimed.claim_token) == (
        portrait.pk,
        "running",
        2,
        token,
    )
    assert claimed.parameters == {"size": "1024x1024"}  # JSON read back as a dict on every database
    assert claimed.lease_expires_at - claimed.started_at == timedelta(seconds=60)
    assert claimed.started_at.tzinfo is not None
    assert Portrait.objects.get(pk=portrait.pk).claim_token == token


def test_a_job_that_is_not_queued_cannot_be_claimed():
    portrait = PortraitFactory(status="running", claim_token="theirs")

    assert Portrait.claim(portrait.pk) is None
    assert Portrait.objects.get(pk=portrait.pk).claim_token == "theirs"
