from __future__ import annotations

import codecs
import io
import unicodedata

import pytest

from studio.characters.models import Character
from studio.imports import commit as commit_module
from studio.imports import rows as import_rows
from studio.imports.commit import commit
from studio.imports.export import rejected_rows_csv
from studio.imports.mapping import map_headers
from studio.imports.rows import preview
from studio.imports.sources import ImportProblem
from studio.tests.factories import CharacterFactory

pytestmark = pytest.mark.django_db


def _csv(*lines: str, ending: str = "\r\n") -> str:
    return ending.join(lines) + ending


# --- header mapping -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header", ["hair colour", "hair_color", "Hair Color", "HAIR-COLOUR", " Hair  colour "]
)
def test_it_maps_hair_colour_headers_whatever_their_spelling(header):
    assert map_headers(["name", header]).mapped[header.strip()] == "hair_color"


def test_it_maps_aliases_of_the_non_vocabulary_fields():
    mapping = map_headers(
        ["Character Name", "Description", "Features", "Negative prompt", "Comments", "Privacy", "ID"]
    )
    assert mapping.fields == [
        "name",
        "description",
        "distinguishing_features",
        "negative_prompt",
        "notes",
        "visibility",
        "id",
    ]


def test_it_lists_unknown_columns_and_ignores_blank_trailing_ones():
    mapping = map_headers(["name", "favourite food", "", ""])
    assert mapping.unknown == ["favourite food"]
    assert mapping.fields == ["name"]


def test_it_lets_the_user_remap_or_ignore_a_column():
    mapping = map_headers(["name", "locks", "eyes"], overrides={"locks": "hair_color", "eyes": ""})
    assert mapping.mapped == {"name": "name", "locks": "hair_color"}
    assert mapping.as_overrides() == {"locks": "hair_color", "eyes": ""}


def test_it_refuses_a_remap_to_a_field_that_does_not_exist():
    with pytest.raises(ImportProblem, match="no such field"):
        map_headers(["name"], overrides={"name": "password"})


def test_it_reads_only_the_first_of_two_columns_for_the_same_field():
    mapping = map_headers(["name", "hair", "hair colour"])
    assert mapping.duplicates == ["hair colour"]


def test_it_ignores_the_error_column_of_a_rejected_rows_file():
    mapping = map_headers(["name", "error"])
    assert mapping.unknown == []


# --- values ---------------------------------------------------------------------------------------------


def test_it_accepts_vocabulary_labels_and_keys_in_any_case(user):
    text = _csv("name,hair colour,eye colour,clothing", "Ann,PLATINUM BLONDE,dark_brown,t-shirt and jeans")
    [row] = list(import_rows.iter_rows(text))
    assert row.values == {
        "name": "Ann",
        "hair_color": "platinum",
        "eye_color": "dark_brown",
        "clothing": "tshirt_jeans",
    }


def test_it_suggests_the_nearest_choice_for_a_near_miss(user):
    [row] = list(import_rows.iter_rows(_csv("name,Hair Colour", "Ann,Auburnn")))
    [error] = row.errors
    assert (error.line, error.column, error.value) == (2, "Hair Colour", "Auburnn")
    assert error.suggestion == "Auburn"
    assert "Did you mean “Auburn”?" in error.message


@pytest.mark.parametrize(
    ("age", "expected"), [("8", "child"), ("30", "adult"), ("45 years", "middle_aged"), ("70", "elderly")]
)
def test_it_maps_numeric_ages_to_age_ranges(age, expected):
    [row] = list(import_rows.iter_rows(_csv("name,age", f"Ann,{age}")))
    assert row.values["age"] == expected


def test_it_splits_multi_valued_cells_on_semicolons_commas_and_pipes():
    [row] = list(import_rows.iter_rows(_csv("name,accessories", 'Ann,"hat; Glasses|earrings, hat"')))
    assert row.values["accessories"] == ["hat", "glasses", "earrings"]


def test_it_names_each_bad_part_of_a_multi_valued_cell():
    [row] = list(import_rows.iter_rows(_csv("name,accessories", "Ann,hat;monocle")))
    assert "“monocle”" in row.errors[0].reason


def test_it_requires_a_name():
    [row] = list(import_rows.iter_rows(_csv("name,hair", ",black")))
    assert row.errors[0].reason == "A name is required."


def test_it_flags_cells_beyond_the_header():
    [row] = list(import_rows.iter_rows(_csv("name,hair", "Ann,black,surprise")))
    assert "3 cells" in row.errors[0].reason


# --- messy files ----------------------------------------------------------------------------------------


def test_it_reads_utf8_with_a_bom(user):
    data = codecs.BOM_UTF8 + _csv("name,hair", "Zoë,black").encode()
    result = preview(data, user)
    assert result.rows[0].name == "Zoë"
    assert result.encoding == "utf-8"


def test_it_reads_windows_1252(user):
    data = _csv("name,notes", "Renée,“quoted” — dash €").encode("cp1252")
    result = preview(data, user)
    assert result.rows[0].values["notes"] == "“quoted” — dash €"
    assert result.encoding == "windows-1252"


def test_it_reads_latin1_bytes_that_cp1252_leaves_undefined(user):
    result = preview(b"name,notes\r\nAnn,a\x81b\r\n", user)
    assert result.rows[0].values["notes"] == "a\x81b"


def test_it_reads_utf16_with_a_bom(user):
    result = preview(_csv("name,hair", "Ann,black").encode("utf-16"), user)
    assert result.rows[0].values == {"name": "Ann", "hair_color": "black"}


@pytest.mark.parametrize(("delimiter", "name"), [(",", "comma"), (";", "semicolon"), ("\t", "tab")])
def test_it_sniffs_the_delimiter(user, delimiter, name):
    text = _csv(delimiter.join(["name", "hair", "eyes"]), delimiter.join(["Ann", "black", "green"]))
    result = preview(text, user)
    assert result.delimiter_name == name
    assert result.rows[0].values == {"name": "Ann", "hair_color": "black", "eye_color": "green"}


def test_it_keeps_quoted_newlines_and_counts_lines_from_the_file(user):
    text = _csv("name,features,hair", 'Ann,"a scar\r\nover one eye",black', "Bob,,bluee")
    rows = preview(text, user).rows
    assert rows[0].values["distinguishing_features"] == "a scar\r\nover one eye"
    assert rows[1].line == 4
    assert rows[1].errors[0].line == 4


def test_it_skips_blank_lines_and_trailing_empty_columns(user):
    text = _csv("name,hair,,", "", "Ann,black,,", ",,,", "Bob,brown,,", ending="\n")
    result = preview(text, user)
    assert [row.name for row in result.rows] == ["Ann", "Bob"]
    assert result.counts["invalid"] == 0
    assert [row.line for row in result.rows] == [3, 5]


def test_it_accepts_a_short_row_as_blank_trailing_cells(user):
    result = preview(_csv("name,hair,eyes", "Ann"), user)
    assert result.rows[0].values == {"name": "Ann", "hair_color": "", "eye_color": ""}


@pytest.mark.parametrize("data", [b"", b"   \r\n\r\n", "", codecs.BOM_UTF8])
def test_it_says_an_empty_file_is_empty(user, data):
    with pytest.raises(ImportProblem, match="empty"):
        preview(data, user)


def test_it_explains_a_file_without_a_header(user):
    with pytest.raises(ImportProblem, match="header") as caught:
        preview(_csv("Ann,black,green", "Bob,brown,blue"), user)
    assert caught.value.mapping is not None  # the page can still offer to remap the columns


def test_it_explains_a_header_without_rows(user):
    with pytest.raises(ImportProblem, match="no characters"):
        preview(_csv("name,hair"), user)


def test_it_needs_a_name_or_id_column(user):
    with pytest.raises(ImportProblem, match="name"):
        preview(_csv("hair,eyes", "black,green"), user)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04rest of a workbook", "Excel"),
        (b"\x89PNG\r\n\x1a\nxxxx", "PNG"),
        (b"name,hair\r\nAnn,\x00\x01\x02", "text"),
        (bytes(range(1, 32)) * 20, "text"),
    ],
)
def test_it_refuses_binary_files_clearly(user, data, message):
    with pytest.raises(ImportProblem, match=message):
        preview(data, user)


def test_it_refuses_a_file_over_the_size_limit(user, settings):
    settings.CHARACTER_IMPORT_MAX_BYTES = 100
    with pytest.raises(ImportProblem, match="limit is"):
        preview(_csv("name", *[f"Character {i}" for i in range(20)]).encode(), user)


def test_it_refuses_too_many_rows(user, settings):
    settings.CHARACTER_IMPORT_MAX_ROWS = 5
    with pytest.raises(ImportProblem, match="more than 5 rows"):
        preview(_csv("name", *[f"Character {i}" for i in range(6)]), user)


def test_it_reports_an_unclosed_quote_instead_of_crashing(user):
    text = 'name,notes\r\nAnn,"' + "x" * 200_000
    with pytest.raises(ImportProblem, match="quote"):
        preview(text, user)


def test_it_reads_from_an_uploaded_file_without_closing_it(user):
    upload = io.BytesIO(_csv("name", "Ann").encode())
    preview(upload, user)
    assert not upload.closed


# --- preview statuses -----------------------------------------------------------------------------------


def test_it_marks_each_row_new_update_unchanged_or_invalid(user, django_assert_num_queries):
    CharacterFactory(owner=user, name="Ann", hair_color="black")
    CharacterFactory(owner=user, name="Bob", hair_color="brown")
    text = _csv("name,hair", "ann,black", "Bob,grey", "Cy,white", "Di,plaid")
    with django_assert_num_queries(1):
        result = preview(text, user)
    assert [row.status for row in result.rows] == ["update", "update", "new", "invalid"]
    assert result.counts == {"new": 1, "update": 2, "unchanged": 0, "invalid": 1, "total": 4}


def test_it_sees_an_identical_row_as_unchanged(user):
    CharacterFactory(owner=user, name="Ann", hair_color="black", accessories=["hat", "glasses"])
    result = preview(_csv("name,hair,accessories", "Ann,black,glasses;hat"), user)
    assert result.rows[0].status == "unchanged"


def test_it_matches_by_id_within_the_owners_characters_only(user, other_user):
    mine = CharacterFactory(owner=user, name="Ann")
    theirs = CharacterFactory(owner=other_user, name="Theirs")
    result = preview(_csv("id,name", f"{mine.pk},Annie", f"{theirs.pk},Bob"), user)
    assert (result.rows[0].status, result.rows[0].character_id) == ("update", mine.pk)
    assert (result.rows[1].status, result.rows[1].character_id) == ("new", None)


def test_it_rejects_a_rename_onto_another_characters_name(user):
    ann = CharacterFactory(owner=user, name="Ann")
    CharacterFactory(owner=user, name="Bob")
    result = preview(_csv("id,name", f"{ann.pk},Bob"), user)
    assert "already called" in result.rows[0].error_text


def test_it_previews_a_repeated_name_as_an_update_of_the_earlier_line(user):
    result = preview(_csv("name,hair", "Ann,black", "Bob,white", "ANN,brown"), user)
    assert [row.status for row in result.rows] == ["new", "new", "update"]
    assert result.rows[2].note == "Line 4 updates line 2."
    assert result.counts["invalid"] == 0


def test_it_saves_the_last_row_of_a_repeated_name(user):
    report = commit(_csv("name,hair,eyes", "Ann,black,blue", "Bob,white,", "ann,brown,", "ANN,,green"), user)
    assert (report.created, report.updated, report.invalid) == (2, 2, 0)
    assert report.notes == ["Line 4 updates line 2.", "Line 5 updates line 4."]
    ann = Character.objects.get(owner=user, name="ANN")  # the name as the last row writes it
    assert (ann.hair_color, ann.eye_color) == ("", "green")  # the last row wins, cell by cell as written
    assert ann.version == 3


def test_it_updates_an_existing_character_twice_from_one_file(user):
    CharacterFactory(owner=user, name="Zoë", hair_color="black")
    nfd = unicodedata.normalize("NFD", "Zoë")
    report = commit(_csv("name,hair", f"{nfd},brown", "Zo\u200bë,white"), user)
    assert (report.created, report.updated) == (0, 2)
    [zoe] = Character.objects.filter(owner=user)
    assert (zoe.name, zoe.hair_color) == ("Zoë", "white")


def test_it_keeps_a_bounded_window_of_rows_for_display(user, settings):
    settings.CHARACTER_IMPORT_PREVIEW_ROWS = 3
    lines = [f"C{i},black" for i in range(10)] + [f"Bad{i},plaid" for i in range(10)]
    result = preview(_csv("name,hair", *lines), user)
    assert len(result.rows) == 6
    assert result.hidden_rows == 14
    assert result.counts["total"] == 20


# --- commit ---------------------------------------------------------------------------------------------


def test_it_imports_valid_rows_and_reports_the_rest(user):
    report = commit(_csv("name,hair", "Ann,black", "Bob,plaid", "Cy,white"), user)
    assert (report.created, report.updated, report.invalid) == (2, 0, 1)
    assert sorted(Character.objects.filter(owner=user).values_list("name", flat=True)) == ["Ann", "Cy"]
    assert report.rejected[0].line == 3


def test_it_imports_nothing_when_asked_for_all_or_nothing(user):
    report = commit(_csv("name,hair", "Ann,black", "Bob,plaid"), user, all_or_nothing=True)
    assert not report.committed
    assert "Nothing was imported" in report.message
    assert not Character.objects.exists()


def test_it_imports_everything_all_or_nothing_when_all_rows_are_valid(user):
    report = commit(_csv("name,hair", "Ann,black", "Bob,brown"), user, all_or_nothing=True)
    assert report.created == 2
    assert Character.objects.count() == 2


def test_it_is_idempotent_when_the_same_file_is_imported_again(user):
    text = _csv("name,hair,accessories", "Ann,black,hat;glasses", "Bob,brown,")
    commit(text, user)
    again = commit(text, user)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert Character.objects.count() == 2


def test_it_updates_only_the_columns_in_the_file_and_bumps_the_version(user):
    ann = CharacterFactory(owner=user, name="Ann", hair_color="black", eye_color="green", notes="keep")
    report = commit(_csv("name,hair", "Ann,white"), user)
    ann.refresh_from_db()
    assert report.updated == 1
    assert (ann.hair_color, ann.eye_color, ann.notes, ann.version) == ("white", "green", "keep", 2)


def test_it_does_not_bump_the_version_for_a_notes_only_change(user):
    ann = CharacterFactory(owner=user, name="Ann", notes="old")
    commit(_csv("name,notes", "Ann,new"), user)
    ann.refresh_from_db()
    assert (ann.notes, ann.version) == ("new", 1)


def test_it_leaves_other_owners_characters_alone(user, other_user):
    CharacterFactory(owner=other_user, name="Ann", hair_color="black")
    commit(_csv("name,hair", "Ann,white"), user)
    assert Character.objects.get(owner=other_user).hair_color == "black"
    assert Character.objects.get(owner=user).hair_color == "white"


def test_it_reports_progress_per_batch(user, monkeypatch):
    monkeypatch.setattr(commit_module, "BATCH_SIZE", 10)
    calls = []
    commit(
        _csv("name", *[f"C{i}" for i in range(25)]),
        user,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(10, 25), (20, 25), (25, 25)]


def test_it_writes_rejected_rows_with_an_error_column_that_re_imports(user):
    report = commit(_csv("name,hair", "Ann,black", "Bob,plaid"), user)
    rejected = rejected_rows_csv(report)
    assert rejected.splitlines()[0] == "name,hair,error"
    assert rejected.splitlines()[1].startswith("Bob,plaid,")
    fixed = rejected.replace("plaid", "brown")
    again = commit(fixed, user)
    assert (again.created, again.invalid) == (1, 0)


def test_it_applies_user_overrides_on_commit(user):
    commit(_csv("name,locks", "Ann,black"), user, overrides={"locks": "hair_color"})
    assert Character.objects.get(name="Ann").hair_color == "black"


@pytest.mark.django_db
def test_it_publishes_existing_portraits_when_an_import_makes_a_character_public(user):
    from studio.imports.commit import commit
    from studio.portraits.models import Portrait
    from studio.tests.factories import CharacterFactory, PortraitFactory

    character = CharacterFactory(owner=user, name="Lark", visibility="private")
    portrait = PortraitFactory(character=character, status="succeeded")
    assert not Portrait.objects.get(pk=portrait.pk).is_public
    report = commit("name,visibility\nLark,public\n", user)
    assert report.updated == 1
    assert Portrait.objects.get(pk=portrait.pk).is_public


def test_it_refuses_a_csv_with_more_columns_than_the_limit_naming_it(user, settings):
    settings.CHARACTER_IMPORT_MAX_COLUMNS = 10
    header = ",".join(["name", *(f"extra {index}" for index in range(10))])
    with pytest.raises(ImportProblem, match=r"11 columns; the limit is 10 \(CHARACTER_IMPORT_MAX_COLUMNS\)"):
        preview(_csv(header, "Ann" + "," * 10), user)


def test_it_neutralises_formula_like_header_cells_in_the_rejected_rows_file(user):
    report = commit_module.commit(_csv("name,=HYPERLINK(1),hair", "Ann,x,plaid"), user)
    header = rejected_rows_csv(report).splitlines()[0]
    assert header.startswith("name,'=HYPERLINK(1),")
