"""Imports that update as people expect: a repeated name updates the earlier row (last one wins) in the web
preview, the CLI and JSON; exact ages; ignored columns reported by the CLI on a real import; one format
decision for the web and the CLI; names compared after NFC with zero-width characters removed; an
unclosed quote at the end of a file named by its line."""

from __future__ import annotations

import json
import unicodedata

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from studio.characters.models import Character
from studio.characters.prompts import character_prompt
from studio.imports import sources
from studio.imports.commit import commit, import_json
from studio.imports.models import CharacterImport
from studio.imports.rows import preview
from studio.imports.sources import ImportProblem
from studio.tests.factories import CharacterFactory

pytestmark = pytest.mark.django_db

UPLOAD = reverse("studio:import_upload")
REPEATED = (
    "name,hair colour\r\nAnn,black\r\n" + "".join(f"P{n},black\r\n" for n in range(6)) + "ANN,brown\r\n"
)


def _job(user) -> CharacterImport:
    return CharacterImport.objects.filter(owner=user).latest("created_at")


# --- a repeated name: the last row wins -----------------------------------------------------------------


def test_the_preview_says_which_line_a_repeated_name_updates(logged_in_client, user):
    logged_in_client.post(UPLOAD, {"text": REPEATED})
    page = logged_in_client.get(reverse("studio:import_detail", args=[_job(user).pk])).content.decode()

    assert "Line 9 updates line 2." in page
    assert "already appears" not in page
    logged_in_client.post(reverse("studio:import_commit", args=[_job(user).pk]))
    assert Character.objects.get(owner=user, name="ANN").hair_color == "brown"
    assert Character.objects.filter(owner=user).count() == 7


def test_the_cli_updates_from_the_later_row_and_says_so(user, tmp_path, capsys):
    path = tmp_path / "people.csv"
    path.write_text(REPEATED, encoding="utf-8")

    call_command("import_characters", str(path), "--owner", user.email, "--dry-run")
    assert "Line 9 updates line 2." in capsys.readouterr().out
    call_command("import_characters", str(path), "--owner", user.email)

    out = capsys.readouterr().out
    assert "Created 7, updated 1" in out and "Line 9 updates line 2." in out
    assert Character.objects.get(owner=user, name="ANN").hair_color == "brown"


def test_a_json_import_updates_from_the_later_record(user):
    records = [{"name": "Ann", "hair_color": "black"}, {"name": "Bob"}, {"name": "ann", "hair_color": "red"}]
    report = import_json(json.dumps(records), user)
    assert (report.created, report.updated, report.invalid) == (2, 1, 0)
    assert report.notes == ["Line 3 updates line 1."]
    assert Character.objects.get(owner=user, name="ann").hair_color == "red"


def test_an_all_or_nothing_import_applies_a_repeated_name_in_order(user):
    report = commit("name,hair\r\nAnn,black\r\nAnn,brown\r\nAnn,white\r\n", user, all_or_nothing=True)
    assert (report.created, report.updated, report.committed) == (1, 2, True)
    assert Character.objects.get(owner=user).hair_color == "white"


# --- ages -----------------------------------------------------------------------------------------------


def test_a_number_is_kept_as_the_exact_age_and_the_range_follows(user):
    commit("name,gender,age\r\nMara,female,35\r\nOld,male,70 years\r\nYoung,female,young adult\r\n", user)

    mara = Character.objects.get(owner=user, name="Mara")
    assert (mara.age_years, mara.age) == (35, "adult")
    assert "a 35-year-old woman" in character_prompt(mara).text
    assert Character.objects.filter(owner=user, age="elderly").get().age_years == 70  # filters use the range
    young = Character.objects.get(owner=user, name="Young")
    assert (young.age_years, young.age) == (None, "young_adult")


def test_a_range_replaces_an_exact_age_that_no_longer_fits(user):
    CharacterFactory(owner=user, name="Mara", age_years=35)
    commit("name,age\r\nMara,elderly\r\n", user)
    mara = Character.objects.get(owner=user)
    assert (mara.age_years, mara.age) == (None, "elderly")


def test_the_prompt_says_an_before_an_eighteen_year_old(user):
    assert "an 18-year-old man" in character_prompt(CharacterFactory(gender="male", age_years=18)).text
    assert "an 8-year-old" in character_prompt(CharacterFactory(gender="male", age_years=8)).text


def test_a_json_age_number_is_the_exact_age(user):
    import_json(json.dumps([{"name": "Ann", "age": 42}]), user)
    assert Character.objects.get(owner=user).age_years == 42


# --- the CLI reports ignored columns --------------------------------------------------------------------


def test_the_cli_reports_ignored_columns_on_a_real_import(user, tmp_path, capsys):
    path = tmp_path / "people.csv"
    path.write_text("name,favourite food\r\nAnn,soup\r\n", encoding="utf-8")
    call_command("import_characters", str(path), "--owner", user.email)
    out = capsys.readouterr().out
    assert "Ignored columns: favourite food" in out and "Created 1" in out


# --- one format decision ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("people.csv", b"[name],hair\r\nAnn,black\r\n", sources.CSV),
        ("people.json", b"[name],hair\r\nAnn,black\r\n", sources.CSV),
        ("people.csv", b'[{"name": "Ann"}]', sources.JSON),
        ("people.txt", b'\xef\xbb\xbf {\n "characters": []}', sources.JSON),
        ("card.bin", b"\x89PNG\r\n\x1a\n....", sources.CARD),
        ("broken.png", b"not a png", sources.CARD),
        ("x.charx", b"PK\x03\x04 not really", sources.CHARX),
        ("book.xlsx", b"PK\x03\x04 a spreadsheet", sources.CSV),
    ],
)
def test_the_format_is_decided_by_content(name, data, expected):
    assert sources.detect_format(data, name) == expected


def test_the_web_and_the_cli_read_a_csv_whose_header_starts_with_a_bracket(logged_in_client, user, tmp_path):
    data = b"[name],hair\r\nAnn,black\r\n"
    upload = SimpleUploadedFile("people.csv", data, content_type="text/csv")
    page = logged_in_client.post(UPLOAD, {"file": upload}, follow=True).content.decode()
    assert "This is not valid JSON" not in page and 'data-status="invalid"' not in page

    path = tmp_path / "people.json"
    path.write_bytes(b'[{"name": "Ann"}, {"name": "Bob"}]')
    call_command("import_characters", str(path.rename(tmp_path / "named-wrongly.csv")), "--owner", user.email)
    assert sorted(Character.objects.filter(owner=user).values_list("name", flat=True)) == ["Ann", "Bob"]


# --- names ----------------------------------------------------------------------------------------------


def test_names_are_compared_after_nfc_without_zero_width_characters(user):
    nfd, nfc = unicodedata.normalize("NFD", "Zoë"), unicodedata.normalize("NFC", "Zoë")
    assert nfd != nfc
    commit(f"name,hair\r\n{nfd},black\r\n", user)
    report = commit(f"name,hair\r\n{nfc},red\r\nZo\u200b\u200dë,red\r\n", user)

    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    [zoe] = Character.objects.filter(owner=user)
    assert zoe.name == nfc and zoe.hair_color == "red"


def test_the_form_stores_names_the_same_way(logged_in_client, user):
    CharacterFactory(owner=user, name="Zoë")
    response = logged_in_client.post(reverse("studio:character_create"), {"name": "Zo\u200bë"})
    assert "You already have a character with this name." in response.content.decode()


# --- an unclosed quote ----------------------------------------------------------------------------------


def test_an_unclosed_quote_at_the_end_is_an_error_naming_its_line(user):
    text = 'name,notes\r\nAnn,fine\r\nBob,"starts a quote\r\nCy,never closed\r\nDee,at all\r\n'
    with pytest.raises(ImportProblem, match="Line 3: a quote opened on this line is never closed"):
        preview(text, user)
    with pytest.raises(ImportProblem, match="Line 3"):
        commit(text, user)
    assert not Character.objects.exists()


def test_a_quoted_cell_over_several_lines_is_still_fine(user):
    result = preview('name,notes\r\nAnn,"two\r\nlines"\r\nBob,"last ""quoted"""', user)
    assert [row.values["notes"] for row in result.rows] == ["two\r\nlines", 'last "quoted"']


def test_the_web_preview_shows_the_unclosed_quote_message(logged_in_client, user):
    response = logged_in_client.post(UPLOAD, {"text": 'name\nAnn\n"Bob\nCy\n'})
    assert response.status_code == 400
    assert "Line 3: a quote opened on this line is never closed" in response.content.decode()
