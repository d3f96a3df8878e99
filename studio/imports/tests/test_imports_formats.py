from __future__ import annotations

import base64
import csv
import io
import json
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from PIL import Image, PngImagePlugin

from studio.characters.models import Character
from studio.imports import cards
from studio.imports import commit as commit_module
from studio.imports import commit as import_commit
from studio.imports import export as import_export
from studio.imports import mapping as import_mapping
from studio.imports.models import CharacterImport
from studio.imports.sources import ImportProblem
from studio.imports.tasks import import_characters_task, job_report, start_import
from studio.tests.factories import CharacterFactory

pytestmark = pytest.mark.django_db

_ROOT = Path(__file__).resolve().parents[3]
# The sample sits in shared/, inside the checkout or beside it (as CI lays it out).
SAMPLE = next(
    path
    for path in (
        _ROOT / "shared" / "data" / "dali_character.json",
        _ROOT.parent / "shared" / "data" / "dali_character.json",
        Path("/work/shared/data/dali_character.json"),
    )
    if path.exists()
)
SAMPLE_TEXT = SAMPLE.read_text()


def _attributes(character: Character) -> dict:
    return {name: getattr(character, name) for name in import_mapping.CHARACTER_FIELDS if name != "notes"}


# --- CSV export -----------------------------------------------------------------------------------------


def test_it_exports_csv_that_spreadsheets_cannot_execute(user):
    CharacterFactory(
        owner=user, name='=HYPERLINK("http://x")', distinguishing_features="+1 scar", notes="@me"
    )
    CharacterFactory(owner=user, name="Plain", notes="-minus\tand tab")
    text = "".join(import_export.export_csv(Character.objects.filter(owner=user)))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["name"] == '\'=HYPERLINK("http://x")'
    assert rows[0]["distinguishing_features"] == "'+1 scar"
    assert rows[0]["notes"] == "'@me"
    assert rows[1]["notes"] == "'-minus\tand tab"
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_it_streams_the_export_in_chunks(user):
    CharacterFactory.create_batch(1200, owner=user)
    chunks = list(import_export.export_csv(Character.objects.filter(owner=user)))
    assert len(chunks) >= 3
    assert "".join(chunks).count("\r\n") == 1201


def test_it_exports_only_the_filtered_characters(user):
    CharacterFactory(owner=user, name="Ann", gender="female")
    CharacterFactory(owner=user, name="Bob", gender="male")
    text = "".join(import_export.export_csv(Character.objects.filter(owner=user, gender="male")))
    assert "Bob" in text and "Ann" not in text


def test_it_round_trips_csv_export_and_import_into_another_account(user, other_user):
    CharacterFactory(
        owner=user, name="=Tricky", accessories=["hat", "glasses"], notes="multi\nline", visibility="public"
    )
    CharacterFactory(owner=user, name="Plain", hair_color="", dominant_colors=["warm"])
    text = "".join(import_export.export_csv(Character.objects.filter(owner=user)))
    report = import_commit.commit(text, other_user)
    assert report.created == 2
    for original in Character.objects.filter(owner=user):
        copy = Character.objects.get(owner=other_user, name=original.name)
        assert {**_attributes(copy), "notes": copy.notes} == {
            **_attributes(original),
            "notes": original.notes,
        }


def test_it_finds_nothing_to_do_when_re_importing_its_own_export(user):
    CharacterFactory.create_batch(5, owner=user, accessories=["hat"])
    text = "".join(import_export.export_csv(Character.objects.filter(owner=user)))
    report = import_commit.commit(text, user)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 5)


# --- JSON -----------------------------------------------------------------------------------------------


def test_it_imports_the_nested_sample_format(user):
    report = import_commit.import_json(SAMPLE_TEXT, user)
    assert report.created == 1
    john = Character.objects.get(owner=user, name="John Cena")
    assert (john.gender, john.age, john.skin_tone, john.ethnicity) == ("male", "adult", "light", "caucasian")
    assert (john.eye_color, john.hair_color, john.hair_style) == ("brown", "brown", "short")
    assert (john.clothing, john.clothing_color, john.clothing_style) == ("shirt", "light_blue", "casual")
    assert john.accessories == ["wristwatch", "sunglasses"]
    assert (john.expression, john.pose, john.lighting) == ("confident", "front", "soft")
    assert (john.art_style, john.texture, john.contrast, john.shading) == (
        "photorealistic",
        "smooth",
        "moderate",
        "soft",
    )
    assert john.dominant_colors == ["neutral"]
    assert john.distinguishing_features == "no background, ultra-realistic"
    # Nothing is lost: the free text that only partly mapped is kept in the notes.
    assert "light blue shirt and dark jeans" in john.notes
    assert "short and well-groomed" in john.notes
    assert "style: realistic" in john.notes


def test_it_imports_the_sample_twice_without_duplicating(user):
    import_commit.import_json(SAMPLE_TEXT, user)
    again = import_commit.import_json(SAMPLE_TEXT, user)
    assert (again.created, again.unchanged) == (0, 1)


def test_it_round_trips_its_own_json_export(user, other_user):
    CharacterFactory(
        owner=user, name="Ann", accessories=["crown"], negative_prompt="blurry", visibility="public"
    )
    CharacterFactory(owner=user, name="Bob", hair_color="", lens="85mm")
    exported = import_export.export_json(Character.objects.filter(owner=user))
    assert json.loads(exported)["format"] == import_export.JSON_FORMAT
    report = import_commit.import_json(exported, other_user)
    assert report.created == 2
    for original in Character.objects.filter(owner=user):
        copy = Character.objects.get(owner=other_user, name=original.name)
        assert _attributes(copy) == _attributes(original)
        assert copy.notes == original.notes


@pytest.mark.parametrize("data", ["", "{", "[1, 2]", '"text"', b"\x00\x01binary"])
def test_it_explains_bad_json_or_rejects_its_entries(user, data):
    try:
        report = import_commit.import_json(data, user)
    except ImportProblem as problem:
        assert problem.message
    else:
        assert report.invalid == 2
    assert not Character.objects.exists()


# --- cards ----------------------------------------------------------------------------------------------


def _png_with(chunks: dict[str, dict]) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, card in chunks.items():
        info.add_text(key, base64.b64encode(json.dumps(card).encode()).decode())
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def test_it_exports_a_v2_card_in_a_chara_chunk(user):
    character = CharacterFactory(owner=user, name="Ann", distinguishing_features="a scar")
    png = cards.export_card(character)
    card = json.loads(base64.b64decode(Image.open(io.BytesIO(png)).text["chara"]))
    assert card["spec"] == "chara_card_v2"
    assert card["data"]["name"] == "Ann"
    assert "auburn hair" in card["data"]["description"] and "A scar." in card["data"]["description"]
    assert "Female" in card["data"]["tags"]
    assert card["data"]["extensions"]["dali_studio"]["hair_color"] == "auburn"


def test_it_uses_the_given_portrait_as_the_card_image(user):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 32), "red").save(buffer, "PNG")
    png = cards.export_card(CharacterFactory(owner=user), buffer.getvalue())
    assert Image.open(io.BytesIO(png)).size == (64, 32)


def test_it_round_trips_a_card_into_another_account(user, other_user):
    original = CharacterFactory(
        owner=user, name="Ann", accessories=["hat"], lighting="rim", negative_prompt="blur"
    )
    report = cards.import_card(cards.export_card(original), other_user)
    assert report.created == 1
    assert _attributes(Character.objects.get(owner=other_user)) == _attributes(original)


def test_it_prefers_the_v3_chunk_and_keeps_the_card_fields_as_card_data(user):
    v2 = {"spec": "chara_card_v2", "data": {"name": "Old"}}
    v3 = {
        "spec": "chara_card_v3",
        "data": {
            "name": "New",
            "description": "A tall knight.",
            "personality": "Stern",
            "tags": ["blonde", "green"],
            "extensions": {"other_tool": {"x": 1}},
        },
    }
    report = cards.import_card(_png_with({"chara": v2, "ccv3": v3}), user)
    assert report.created == 1
    character = Character.objects.get(owner=user)
    assert character.name == "New"
    assert character.hair_color == "blonde"  # "green" is ambiguous (eyes, hair, skin) and skipped
    assert character.description == "A tall knight."  # a description, not a prompt to rewrite
    assert character.distinguishing_features == "" and character.notes == ""
    assert character.card["personality"] == "Stern"
    assert character.card["extensions"] == {"other_tool": {"x": 1}}


def test_it_keeps_unknown_extension_keys_through_import_and_export(user):
    card = {
        "spec": "chara_card_v2",
        "data": {
            "name": "Ann",
            "extensions": {"other_tool": {"depth": 4}, "dali_studio": {"hair_color": "red", "future": True}},
        },
    }
    cards.import_card(_png_with({"chara": card}), user)
    character = Character.objects.get(owner=user)
    assert character.hair_color == "red"
    exported = cards.card_data(character)["data"]["extensions"]
    assert exported["other_tool"] == {"depth": 4}
    assert exported["dali_studio"]["future"] is True


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a png", "not a PNG"),
        (_png_with({}), "no character card"),
    ],
)
def test_it_explains_a_png_that_is_not_a_card(user, data, message):
    with pytest.raises(ImportProblem, match=message):
        cards.import_card(data, user)


def test_it_refuses_a_decompression_bomb(user, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    png = _png_with({"chara": {"spec": "chara_card_v2", "data": {"name": "Ann"}}})
    buffer = io.BytesIO()
    Image.new("RGB", (200, 200)).save(buffer, "PNG")
    with pytest.raises(ImportProblem, match="too many pixels"):
        cards.import_card(buffer.getvalue(), user)
    with pytest.raises(ImportProblem, match="too many pixels"):
        cards.export_card(CharacterFactory(owner=user), buffer.getvalue())
    assert png


def test_it_refuses_a_card_over_the_size_limit(user, settings):
    settings.CHARACTER_CARD_MAX_BYTES = 10
    with pytest.raises(ImportProblem, match="limit"):
        cards.import_card(_png_with({}), user)


# --- background import ----------------------------------------------------------------------------------


def test_it_runs_a_large_import_in_the_background_with_progress(
    user, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(commit_module, "BATCH_SIZE", 10)
    data = ("name,hair\r\n" + "".join(f"C{i},black\r\n" for i in range(25)) + "Bad,plaid\r\n").encode()

    with django_capture_on_commit_callbacks() as callbacks:
        job = start_import(user, data, original_name="../../etc/passwd.csv", total_rows=26)
    assert len(callbacks) == 1  # enqueued once the upload is saved
    assert "passwd" not in job.source.name and job.source.name.startswith("imports/")

    import_characters_task.call(job.pk)
    job.refresh_from_db()
    assert job.status == CharacterImport.Status.SUCCEEDED
    assert (job.processed_rows, job.total_rows, job.percent) == (26, 26, 100)
    report = job_report(job)
    assert (report.created, report.invalid) == (25, 1)
    assert "Bad,plaid" in import_export.rejected_rows_csv(report)


def test_it_records_a_bad_file_as_a_failed_import(user):
    job = CharacterImport.objects.create(owner=user)
    job.source.save("upload", ContentFile(b"\x00\x01\x02"))
    import_characters_task.call(job.pk)
    job.refresh_from_db()
    assert job.status == CharacterImport.Status.FAILED
    assert "text" in job.error_message


def test_it_does_not_run_a_job_twice(user):
    job = CharacterImport.objects.create(owner=user, status=CharacterImport.Status.SUCCEEDED)
    job.source.save("upload", ContentFile(b"name\r\nAnn\r\n"))
    import_characters_task.call(job.pk)
    assert not Character.objects.exists()
