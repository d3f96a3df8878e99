from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from studio.characters.models import Character
from studio.imports import cards
from studio.tests.factories import CharacterFactory

pytestmark = pytest.mark.django_db


def test_it_imports_a_csv_file_and_prints_the_counts(user, tmp_path, capsys):
    path = tmp_path / "people.csv"
    path.write_text("name;hair colour\r\nAnn;black\r\nBob;brown\r\n", encoding="utf-8")
    call_command("import_characters", str(path), "--owner", user.email)
    assert "Created 2, updated 0, unchanged 0, invalid 0." in capsys.readouterr().out
    assert Character.objects.filter(owner=user).count() == 2


def test_it_exits_non_zero_and_writes_rejected_rows(user, tmp_path, capsys):
    path = tmp_path / "people.csv"
    path.write_text("name,hair\r\nAnn,black\r\nBob,plaid\r\n", encoding="utf-8")
    rejected = tmp_path / "rejected.csv"
    with pytest.raises(CommandError) as caught:
        call_command("import_characters", str(path), "--owner", user.email, "--rejected", str(rejected))
    assert caught.value.returncode == 1
    assert "line 3" in capsys.readouterr().err
    assert rejected.read_text().splitlines()[1].startswith("Bob,plaid,")
    assert Character.objects.filter(owner=user).count() == 1


def test_it_saves_nothing_on_a_dry_run(user, tmp_path, capsys):
    path = tmp_path / "people.csv"
    path.write_text("name\r\nAnn\r\n", encoding="utf-8")
    call_command("import_characters", str(path), "--owner", user.email, "--dry-run")
    assert "Would create 1" in capsys.readouterr().out
    assert not Character.objects.exists()


def test_a_dry_run_writes_the_rejected_rows_and_saves_nothing(user, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("name,hair\nAda,red\nBob,plaid\n")
    rejected = tmp_path / "out.csv"
    with pytest.raises(CommandError):
        call_command(
            "import_characters", str(path), "--owner", user.email, "--dry-run", "--rejected", str(rejected)
        )
    lines = rejected.read_text().splitlines()
    assert lines[0] == "name,hair,error"
    assert lines[1].startswith("Bob,plaid,") and len(lines) == 2
    assert not Character.objects.filter(owner=user).exists()


def test_it_imports_nothing_all_or_nothing_when_a_row_is_bad(user, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("name,hair\r\nAnn,black\r\nBob,plaid\r\n", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("import_characters", str(path), "--owner", user.email, "--all-or-nothing")
    assert not Character.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"), [(b"", "empty"), (b"PK\x03\x04zip", "Excel"), (b"\x00\x00\x00", "text")]
)
def test_it_explains_a_bad_file_with_exit_code_2(user, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=message) as caught:
        call_command("import_characters", str(path), "--owner", user.email)
    assert caught.value.returncode == 2


def test_it_refuses_an_unknown_owner(db, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("name\r\nAnn\r\n")
    with pytest.raises(CommandError, match="No user"):
        call_command("import_characters", str(path), "--owner", "nobody@example.com")


def test_it_imports_json_and_cards(user, tmp_path):
    json_path = tmp_path / "people.json"
    json_path.write_text(json.dumps({"character": {"name": "John", "age": 30}}))
    call_command("import_characters", str(json_path), "--owner", user.email)
    card_path = tmp_path / "card.png"
    card_path.write_bytes(cards.export_card(CharacterFactory(name="Carded")))
    call_command("import_characters", str(card_path), "--owner", user.email)
    assert sorted(Character.objects.filter(owner=user).values_list("name", flat=True)) == ["Carded", "John"]


@pytest.mark.parametrize("extension", ["csv", "json"])
def test_it_exports_and_re_imports_the_same_characters(user, other_user, tmp_path, extension):
    CharacterFactory(owner=user, name="Ann", accessories=["hat"])
    CharacterFactory(owner=user, name="=Bob")
    path = tmp_path / f"export.{extension}"
    call_command("export_characters", str(path), "--owner", user.email)
    call_command("import_characters", str(path), "--owner", other_user.email)
    assert sorted(Character.objects.filter(owner=other_user).values_list("name", flat=True)) == [
        "=Bob",
        "Ann",
    ]


def test_it_exports_to_standard_output_in_the_asked_format(user, capsys):
    CharacterFactory(owner=user, name="Ann")
    call_command("export_characters", "-", "--owner", user.email, "--format", "json")
    assert json.loads(capsys.readouterr().out)["characters"][0]["name"] == "Ann"


def test_it_saves_nothing_from_a_file_over_the_row_limit(user, tmp_path, settings):
    settings.CHARACTER_IMPORT_MAX_ROWS = 5
    path = tmp_path / "many.csv"
    path.write_text("name\n" + "".join(f"Character {index}\n" for index in range(6)))

    with pytest.raises(CommandError, match="more than 5 rows"):
        call_command("import_characters", str(path), "--owner", user.email)
    assert not Character.objects.exists()
