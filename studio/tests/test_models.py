from __future__ import annotations

import pytest

from studio.models import Character
from studio.tests.factories import CharacterFactory

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
