from __future__ import annotations

import pytest

from studio.text import a_or_an, counted


@pytest.mark.parametrize(
    "phrase, expected",
    [
        ("art style", "an art style"),
        ("hair colour", "a hair colour"),
        ("eye colour", "an eye colour"),
        ("unicorn", "a unicorn"),
        ("hour", "an hour"),
    ],
)
def test_it_picks_a_or_an_by_sound(phrase, expected):
    assert a_or_an(phrase) == expected


def test_it_counts_a_noun_in_the_singular_only_for_one():
    assert [counted(n, "portrait") for n in (0, 1, 3)] == ["0 portraits", "1 portrait", "3 portraits"]
    assert counted(2, "person", "people") == "2 people"
    assert counted(12000, "row") == "12,000 rows"


def test_an_import_cell_names_its_attribute_with_the_right_article():
    from studio.characters import vocabulary
    from studio.imports.mapping import CellProblem, clean_choice

    with pytest.raises(CellProblem) as problem:
        clean_choice(vocabulary.BY_NAME["art_style"], "crayon-ish")
    assert problem.value.args[0] == "“crayon-ish” is not an art style choice."
