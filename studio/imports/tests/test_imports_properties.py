from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.characters import vocabulary as v
from studio.characters.models import Character, clean_name
from studio.imports import cards
from studio.imports import commit as import_commit
from studio.imports import export as import_export
from studio.imports import mapping as import_mapping
from studio.imports import rows as import_rows
from studio.imports.sources import ImportProblem
from studio.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

headers = st.lists(
    st.sampled_from(["name", "Hair Colour", "age", "accessories", "notes", "id", "eyes", "junk", "", "ID"]),
    min_size=1,
    max_size=6,
)
cells = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["auburn", "30", "hat;glasses", "=cmd()", "", "black", "999", "-1", "young adult"]),
)


@PROPERTY_SETTINGS
@given(data=st.binary(max_size=2000))
def test_it_never_crashes_on_random_bytes(data):
    owner = UserFactory()
    for action in (lambda: import_rows.preview(data, owner), lambda: import_commit.commit(data, owner)):
        try:
            action()
        except ImportProblem as problem:
            assert problem.message


@PROPERTY_SETTINGS
@given(
    header=headers, rows=st.lists(st.lists(cells, max_size=7), max_size=8), delimiter=st.sampled_from(",;\t")
)
def test_it_never_crashes_on_random_csvs_and_counts_every_row(header, rows, delimiter):
    owner = UserFactory()
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    try:
        result = import_rows.preview(text, owner)
    except ImportProblem as problem:
        assert problem.message
        return
    report = import_commit.commit(text, owner)
    assert report.created + report.invalid + report.unchanged + report.updated == result.total
    assert report.created == result.counts["new"]
    assert Character.objects.filter(owner=owner).count() == report.created


@PROPERTY_SETTINGS
@given(data=st.binary(max_size=500))
def test_it_never_crashes_on_random_card_bytes(data):
    owner = UserFactory()
    for payload in (data, cards.PNG_SIGNATURE + data):
        try:
            cards.import_card(payload, owner)
        except ImportProblem as problem:
            assert problem.message


@PROPERTY_SETTINGS
@given(
    document=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=12,
    )
)
def test_it_never_crashes_on_random_json(document):
    owner = UserFactory()
    try:
        import_commit.import_json(document, owner)
    except ImportProblem as problem:
        assert problem.message


single = [a for a in v.ATTRIBUTES if not a.multiple]
characters = st.fixed_dictionaries(
    {
        "name": st.text(
            alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30
        ).filter(lambda s: clean_name(s) == s and s.strip()),  # names are stored cleaned (form, imports)
        **{a.name: st.sampled_from(["", *(c.key for c in a.choices)]) for a in single},
        "accessories": st.lists(
            st.sampled_from([c.key for c in v.ACCESSORIES.choices]), unique=True, max_size=3
        ),
        "distinguishing_features": st.text(
            alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30
        ).map(str.strip),
        "notes": st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30).map(
            str.strip
        ),
    }
)


@PROPERTY_SETTINGS
@given(values=characters)
def test_it_round_trips_any_character_through_csv_json_and_cards(values):
    owner, target = UserFactory(), UserFactory()
    original = Character.objects.create(owner=owner, **values)
    fields = [f for f in import_mapping.CHARACTER_FIELDS if f != "notes"]

    def same(copy):
        assert {f: getattr(copy, f) for f in fields} == {f: getattr(original, f) for f in fields}

    text = "".join(import_export.export_csv(Character.objects.filter(pk=original.pk)))
    assert import_commit.commit(text, target).created == 1
    same(Character.objects.get(owner=target))
    assert Character.objects.get(owner=target).notes == original.notes
    Character.objects.filter(owner=target).delete()

    assert (
        import_commit.import_json(
            import_export.export_json(Character.objects.filter(pk=original.pk)), target
        ).created
        == 1
    )
    same(Character.objects.get(owner=target))
    Character.objects.filter(owner=target).delete()

    assert cards.import_card(cards.export_card(original), target).created == 1
    same(Character.objects.get(owner=target))
