"""Character cards travel intact: a card written like SillyTavern's writer goes in through the web upload
and comes back out with every field the same; our PNG cards read by SillyTavern's rules; CHARX both ways,
with 20 portraits; hostile CHARX uploads refused with a message and nothing written."""

from __future__ import annotations

import base64
import copy
import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from studio.characters.models import Character
from studio.imports import cardformat, cards
from studio.imports.models import CharacterImport
from studio.imports.tasks import import_characters_task
from studio.tests.factories import CharacterFactory, PortraitFactory

pytestmark = pytest.mark.django_db

UPLOAD = reverse("studio:import_upload")


# --- SillyTavern's writer and reader, as character-card-parser.js does them ----------------------------


def _png(side: int = 16, colour: tuple[int, int, int] = (40, 90, 160)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), colour).save(buffer, "PNG")
    return buffer.getvalue()


def _text_chunk(keyword: str, text: str) -> bytes:
    body = keyword.encode("latin-1") + b"\0" + text.encode("latin-1")
    return struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))


def sillytavern_write(png: bytes, v2: dict, v3: dict) -> bytes:
    """tEXt ``chara`` (V2) then ``ccv3`` (V3) before IEND: base64 of JSON.stringify's UTF-8."""
    end = png.rindex(b"IEND") - 4
    chunks = [
        _text_chunk(keyword, base64.b64encode(json.dumps(card, ensure_ascii=False).encode()).decode())
        for keyword, card in (("chara", v2), ("ccv3", v3))
    ]
    return png[:end] + b"".join(chunks) + png[end:]


def sillytavern_read(png: bytes) -> dict[str, dict]:
    """tEXt chunks by keyword (lowercased); ``ccv3`` preferred to ``chara``, as SillyTavern reads them."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    position, texts = 8, {}
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position : position + 8])
        body = png[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"tEXt":
            keyword, _, text = body.partition(b"\0")
            texts.setdefault(keyword.decode("latin-1").lower(), text.decode("latin-1"))
    cards = {
        key: json.loads(base64.b64decode(texts[key]).decode("utf-8"))
        for key in ("ccv3", "chara")
        if key in texts
    }
    return {"preferred": cards.get("ccv3") or cards["chara"], **cards}


LOREBOOK = {
    "name": "Ærenfell lore",
    "description": "",
    "scan_depth": 4,
    "token_budget": 512,
    "recursive_scanning": False,
    "extensions": {"sillytavern": {"world": "Ærenfell"}},
    "entries": [
        {
            "keys": ["Ærenfell", "the valley"],
            "content": "A valley of mist — 霧の谷.",
            "extensions": {"position": 1, "depth": 4, "probability": 100},
            "enabled": True,
            "insertion_order": 100,
            "case_sensitive": False,
            "name": "Valley",
            "priority": 10,
            "id": 0,
            "comment": "",
            "selective": True,
            "secondary_keys": [],
            "constant": False,
            "position": "before_char",
        },
        {
            "keys": ["Ottoline"],
            "content": "Her sister, a cartographer 🗺️.",
            "extensions": {},
            "enabled": True,
            "insertion_order": 90,
            "id": 1,
        },
    ],
}


def sillytavern_card() -> tuple[dict, dict]:
    """A V2 and a V3 card as SillyTavern writes them: V1 copies at the top, everything in ``data``."""
    data = {
        "name": "Zoë Ångström 龍",
        "description": "A lantern-keeper of Ærenfell who counts the fog.",
        "personality": "Patient, dry, secretly sentimental.",
        "scenario": "{{user}} arrives at the lighthouse at dusk.",
        "first_mes": "*She lifts the lantern.* Oh — you came up the cliff path? 👋",
        "mes_example": "<START>\n{{user}}: Hello?\n{{char}}: Mind the third step.",
        "creator_notes": "Best with long replies. 日本語OK.",
        "system_prompt": "Write {{char}} in third person.",
        "post_history_instructions": "Keep the fog in every scene.",
        "tags": ["lighthouse", "original character", "日本語"],
        "creator": "élodie",
        "character_version": "1.2",
        "alternate_greetings": [
            "The lamp gutters. *Who's there?*",
            "Tea? It's always tea at this hour.\n\nAlways.",
        ],
        "extensions": {
            "talkativeness": "0.5",
            "fav": False,
            "world": "Ærenfell lore",
            "depth_prompt": {"prompt": "Fog muffles sound.", "depth": 4, "role": "system"},
            "chub": {"id": 12345, "full_path": "someone/zoe"},
            "risuai": {"bias": [["fog", 5]], "utilityBot": False},
        },
        "character_book": LOREBOOK,
        "group_only_greetings": ["*Nods to the whole party.*"],
        "unknown_future_field": {"kept": ["exactly", 1, None]},
    }
    top = {
        "name": data["name"],
        "description": data["description"],
        "personality": data["personality"],
        "scenario": data["scenario"],
        "first_mes": data["first_mes"],
        "mes_example": data["mes_example"],
        "creatorcomment": data["creator_notes"],
        "avatar": "none",
        "chat": "Zoë - 2026-12-01@10h00m00s",
        "talkativeness": "0.5",
        "fav": False,
        "tags": data["tags"],
        "create_date": "2026-12-01@10h00m00s",
    }
    v2 = {**copy.deepcopy(top), "spec": "chara_card_v2", "spec_version": "2.0", "data": copy.deepcopy(data)}
    v3 = {**copy.deepcopy(top), "spec": "chara_card_v3", "spec_version": "3.0", "data": copy.deepcopy(data)}
    return v2, v3


def _upload_and_commit(client, name: str, data: bytes, content_type: str = "image/png") -> Character:
    response = client.post(UPLOAD, {"file": SimpleUploadedFile(name, data, content_type=content_type)})
    assert response.status_code == 302, response.content.decode()[:2000]
    job = CharacterImport.objects.latest("created_at")
    client.post(reverse("studio:import_commit", args=[job.pk]))
    job.refresh_from_db()
    if job.status == CharacterImport.Status.QUEUED:  # a CHARX of many images: the background task imports it
        import_characters_task.call(job.pk)
        job.refresh_from_db()
    assert job.status == CharacterImport.Status.SUCCEEDED, job.error_message
    return Character.objects.get(pk=job.report["character_ids"][0])


def _assert_every_field_kept(original: dict, exported: dict) -> None:
    for key, value in original.items():
        if key == "data":
            continue
        assert exported[key] == value, key
    for key, value in original["data"].items():
        assert exported["data"][key] == value, key


# --- PNG cards ------------------------------------------------------------------------------------------


def test_it_brings_a_sillytavern_card_back_out_with_every_field_the_same(logged_in_client, user):
    v2, v3 = sillytavern_card()
    png = sillytavern_write(_png(), v2, v3)

    character = _upload_and_commit(logged_in_client, "zoe.png", png)

    assert character.name == "Zoë Ångström 龍"
    assert character.description == "A lantern-keeper of Ærenfell who counts the fog."
    assert character.distinguishing_features == "" and character.notes == ""
    assert character.card["alternate_greetings"] == v3["data"]["alternate_greetings"]
    assert character.card["character_book"] == LOREBOOK
    response = logged_in_client.get(reverse("studio:character_card", args=[character.pk]))
    exported = sillytavern_read(response.content)
    _assert_every_field_kept(v3, exported["ccv3"])
    _assert_every_field_kept(v2, exported["chara"])
    assert exported["preferred"] is exported["ccv3"]
    assert "dali_studio" not in exported["ccv3"]["data"]["extensions"]  # nothing of ours to add


def test_it_prefers_ccv3_and_still_reads_a_card_with_only_chara(logged_in_client, user):
    v2, v3 = sillytavern_card()
    v3["data"]["personality"] = "From the V3 chunk."
    character = _upload_and_commit(logged_in_client, "zoe.png", sillytavern_write(_png(), v2, v3))
    assert character.card["personality"] == "From the V3 chunk."

    only_v2 = _png()
    end = only_v2.rindex(b"IEND") - 4
    encoded = base64.b64encode(
        json.dumps({**v2, "data": {**v2["data"], "name": "Only V2"}}).encode()
    ).decode()
    only_v2 = only_v2[:end] + _text_chunk("chara", encoded) + only_v2[end:]
    assert _upload_and_commit(logged_in_client, "v2.png", only_v2).card["character_book"] == LOREBOOK


def test_our_card_reads_by_sillytavern_rules_with_both_chunks_and_v3_assets(logged_in_client, user):
    character = CharacterFactory(owner=user, name="Ann", hair_color="auburn", age_years=35, gender="female")
    portrait = PortraitFactory(character=character)
    portrait.store_image(_png(32, (200, 10, 10)), {})

    png = logged_in_client.get(reverse("studio:character_card", args=[character.pk])).content
    read = sillytavern_read(png)

    v3, v2 = read["ccv3"], read["chara"]
    assert (v3["spec"], v3["spec_version"], v2["spec"], v2["spec_version"]) == (
        "chara_card_v3",
        "3.0",
        "chara_card_v2",
        "2.0",
    )
    assert v3["data"]["assets"] == [{"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"}]
    assert v3["data"]["creation_date"] == int(character.created_at.timestamp())
    assert isinstance(v3["data"]["modification_date"], int)
    assert "35-year-old woman" in v3["data"]["description"]  # no description of its own: the prompt
    ours = v3["data"]["extensions"]["dali_studio"]
    assert (ours["hair_color"], ours["age_years"], ours["age"]) == ("auburn", 35, "adult")
    assert v2["data"] == {k: v for k, v in v3["data"].items()}  # the same data; V2 readers skip V3 fields
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (32, 32)  # the cover


def test_it_re_imports_its_own_card_without_turning_the_prompt_into_a_description(
    logged_in_client, user, other_user
):
    original = CharacterFactory(owner=other_user, name="Bo", hair_color="black", age_years=70)
    png = logged_in_client.get(reverse("studio:character_card", args=[original.pk]))
    assert png.status_code == 404  # another user's character

    copy_ = _upload_and_commit(logged_in_client, "bo.png", cards.export_card(original))
    assert (copy_.hair_color, copy_.age_years, copy_.age) == ("black", 70, "elderly")
    assert copy_.description == ""


def test_it_refuses_a_card_whose_text_inflates_past_the_limit(logged_in_client, user, settings):
    settings.CHARACTER_CARD_MAX_TEXT_BYTES = 100_000
    png = _png()
    end = png.rindex(b"IEND") - 4
    body = b"chara\0\0" + zlib.compress(b"A" * 2_000_000, 9)
    chunk = struct.pack(">I", len(body)) + b"zTXt" + body + struct.pack(">I", zlib.crc32(b"zTXt" + body))
    upload = SimpleUploadedFile("bomb.png", png[:end] + chunk + png[end:], content_type="image/png")

    response = logged_in_client.post(UPLOAD, {"file": upload})

    assert response.status_code == 400
    assert "larger than the 100,000 bytes limit for card text" in response.content.decode()
    assert not CharacterImport.objects.exists() and not Character.objects.exists()


def test_it_parses_the_card_once_and_previews_from_the_stored_record(logged_in_client, user, monkeypatch):
    v2, v3 = sillytavern_card()
    upload = SimpleUploadedFile("zoe.png", sillytavern_write(_png(), v2, v3), content_type="image/png")
    logged_in_client.post(UPLOAD, {"file": upload})
    job = CharacterImport.objects.get()
    assert job.card_record["record"]["name"] == "Zoë Ångström 龍"

    def no_parsing(*args, **kwargs):
        raise AssertionError("the card was parsed again")

    monkeypatch.setattr(cardformat, "read_png_card", no_parsing)
    page = logged_in_client.get(reverse("studio:import_detail", args=[job.pk])).content.decode()
    assert "Zoë Ångström 龍" in page


def test_it_carries_the_card_through_json_export_and_import(logged_in_client, user, other_user):
    v2, v3 = sillytavern_card()
    _upload_and_commit(logged_in_client, "zoe.png", sillytavern_write(_png(), v2, v3))
    exported = logged_in_client.get(reverse("studio:character_export_json")).content
    [record] = json.loads(exported)["characters"]
    assert record["card"]["character_book"] == LOREBOOK and record["description"].startswith("A lantern")

    logged_in_client.force_login(other_user)
    copy_ = _upload_and_commit(logged_in_client, "export.json", exported, "application/json")
    original = Character.objects.get(owner=user)
    assert (copy_.card, copy_.description) == (original.card, original.description)


# --- CHARX ----------------------------------------------------------------------------------------------


def test_it_exports_a_charx_with_twenty_portraits_and_imports_it_again(logged_in_client, user, other_user):
    v2, v3 = sillytavern_card()
    character = _upload_and_commit(logged_in_client, "zoe.png", sillytavern_write(_png(), v2, v3))
    for index in range(20):
        PortraitFactory(character=character).store_image(_png(8 + index, (index * 10, 0, 0)), {})

    response = logged_in_client.get(reverse("studio:character_charx", args=[character.pk]))

    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].endswith('.charx"')
    card, assets = cardformat.read_charx(io.BytesIO(response.content))
    # The card's own picture became the character's first portrait: 21 in all.
    assert [a.type for a in assets] == ["icon"] + ["other"] * 20
    assert {a.path.rsplit("/", 1)[-1] for a in assets} == {f"{n}.png" for n in range(1, 22)}
    with Image.open(io.BytesIO(assets[0].read())) as icon:
        assert icon.size == (27, 27)  # the newest portrait is the cover
    _assert_every_field_kept({k: v for k, v in v3.items()}, card)

    logged_in_client.force_login(other_user)
    copy_ = _upload_and_commit(logged_in_client, "zoe.charx", response.content, "application/zip")
    assert copy_.name == character.name and copy_.description == character.description
    assert copy_.portraits.count() == 21  # the CHARX's images are its portraits
    for key in ("personality", "alternate_greetings", "character_book", "extensions", "unknown_future_field"):
        assert copy_.card[key] == character.card[key], key


def test_it_offers_the_charx_download_on_the_character_page(logged_in_client, user):
    character = CharacterFactory(owner=user)
    page = logged_in_client.get(character.get_absolute_url()).content.decode()
    assert reverse("studio:character_charx", args=[character.pk]) in page
    charx = logged_in_client.get(reverse("studio:character_charx", args=[character.pk])).content
    _card, [icon] = cardformat.read_charx(io.BytesIO(charx))
    assert icon.type == "icon"  # no portrait yet: the painter's render


def test_it_hides_another_users_charx(logged_in_client, other_user):
    character = CharacterFactory(owner=other_user)
    assert logged_in_client.get(reverse("studio:character_charx", args=[character.pk])).status_code == 404


def _zip(entries: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


CARD_JSON = json.dumps({"spec": "chara_card_v3", "spec_version": "3.0", "data": {"name": "Zip"}}).encode()


def _lying_zip() -> bytes:
    """card.json declared as 100 bytes in both headers, inflating to 50 MB."""
    data = bytearray(_zip([("card.json", b"{" + b" " * (50 * 1024 * 1024) + b"}")]))
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, 22, 100)
    struct.pack_into("<I", data, central + 24, 100)
    return bytes(data)


def _huge_card_json() -> bytes:
    padding = "x" * (9 * 1024 * 1024)
    return json.dumps({"spec": "chara_card_v3", "data": {"name": "Huge", "description": padding}}).encode()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "bomb.charx",
            lambda: _zip([("card.json", CARD_JSON), ("assets/x.png", bytes(15 * 1024 * 1024))]),
            "compressed suspiciously well",
        ),
        ("liar.charx", _lying_zip, "damaged"),
        (
            "big.charx",
            lambda: _zip([("card.json", CARD_JSON), ("assets/x.png", bytes(25 * 1024 * 1024))]),
            "the limit is 20 MB",
        ),
        (
            "evil.charx",
            lambda: _zip([("card.json", CARD_JSON), ("../../etc/evil.png", b"x")]),
            "unsafe file name",
        ),
        ("abs.charx", lambda: _zip([("card.json", CARD_JSON), ("/tmp/evil.png", b"x")]), "unsafe file name"),
        (
            "win.charx",
            lambda: _zip([("card.json", CARD_JSON), ("assets\\..\\evil.png", b"x")]),
            "unsafe file name",
        ),
        ("huge.charx", lambda: _zip([("card.json", _huge_card_json())]), "the limit is 8 MB"),
        (
            "many.charx",
            lambda: _zip([("card.json", CARD_JSON)] + [(f"a/{n}", b"") for n in range(1001)]),
            "more than 1,000 files",
        ),
        ("none.charx", lambda: _zip([("readme.txt", b"hi")]), "no card.json"),
        ("bad.charx", lambda: _zip([("card.json", b"{not json")]), "not readable JSON"),
        ("notzip.charx", lambda: b"just text, not a zip", "not a zip"),
    ],
)
def test_it_refuses_a_hostile_charx_with_a_message_and_writes_nothing(
    logged_in_client, user, name, data, message
):
    response = logged_in_client.post(
        UPLOAD, {"file": SimpleUploadedFile(name, data(), content_type="application/zip")}
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not CharacterImport.objects.exists() and not Character.objects.exists()
    imports = Path(django_settings.MEDIA_ROOT) / "imports"
    assert not imports.exists() or not any(imports.iterdir())


def test_a_chosen_cover_is_the_icon_of_the_charx(logged_in_client, user):
    from studio.portraits.models import Portrait
    from studio.portraits.references import set_cover

    v2, v3 = sillytavern_card()
    character = _upload_and_commit(logged_in_client, "zoe.png", sillytavern_write(_png(), v2, v3))
    for index in range(3):
        PortraitFactory(character=character).store_image(_png(8 + index, (index * 10, 0, 0)), {})
    painted = Portrait.objects.filter(character=character).exclude(provider=Portrait.IMPORTED)
    set_cover(painted.order_by("created_at", "id").first())

    response = logged_in_client.get(reverse("studio:character_charx", args=[character.pk]))

    _card, assets = cardformat.read_charx(io.BytesIO(response.content))
    assert [a.type for a in assets] == ["icon", "other", "other", "other"]  # and the card's picture
    with Image.open(io.BytesIO(assets[0].read())) as icon:
        assert icon.size == (8, 8)  # the chosen cover, not the newest portrait
