"""A card's pictures become its character's portraits (issue 17): a CHARX's images through the web and the
CLI, a PNG card's own picture; free and outside the daily limits, the cover kept, duplicates skipped, damaged,
oversized and non-image assets named in the report, at most CHARACTER_CHARX_MAX_PORTRAITS per import."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zlib
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from PIL import Image

from studio.characters.models import Character, Visibility
from studio.imports import card_portraits, cardformat, cards
from studio.imports import sources as import_sources
from studio.imports.models import CharacterImport
from studio.imports.tasks import import_characters_task
from studio.portraits.models import Portrait
from studio.portraits.references import cover_of
from studio.portraits.spending import Usage, usage_today
from studio.tests.factories import CharacterFactory, PortraitFactory

pytestmark = pytest.mark.django_db

UPLOAD = reverse("studio:import_upload")
MB = 1024 * 1024


def _png(side: int = 16, colour: tuple[int, int, int] = (40, 90, 160), height: int | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (side, height or side), colour).save(buffer, "PNG")
    return buffer.getvalue()


def _jpeg(side: int = 24) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (200, 120, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _charx(assets: list[tuple[str, str, str, bytes]], name: str = "Ava") -> bytes:
    card = {"spec": "chara_card_v3", "spec_version": "3.0", "data": {"name": name, "description": "A pilot."}}
    return cardformat.write_charx(card, assets)


def _exported_hashes(charx: bytes) -> list[tuple[str, str]]:
    """(type, sha256) of each asset of a CHARX, in the card's order."""
    _card, assets = cardformat.read_charx(io.BytesIO(charx))
    return [(asset.type, _sha(asset.read())) for asset in assets]


def _upload_and_commit(client, name: str, data: bytes) -> CharacterImport:
    response = client.post(UPLOAD, {"file": SimpleUploadedFile(name, data, content_type="application/zip")})
    assert response.status_code == 302, response.content.decode()[:2000]
    job = CharacterImport.objects.latest("created_at")
    client.post(reverse("studio:import_commit", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == CharacterImport.Status.SUCCEEDED, job.error_message
    return job


def _painted_character(owner, count: int = 20) -> Character:
    character = CharacterFactory(owner=owner, name="Ava")
    for index in range(count):
        portrait = PortraitFactory(character=character)
        portrait.store_image(
            _png(8 + index, (index * 10, 50, 90)), {"prompt": f"take {index}", "seed": index}
        )
    return character


def _portraits(character: Character):
    return Portrait.objects.filter(character=character)


# --- a CHARX through the web ----------------------------------------------------------------------------


def test_a_charx_of_twenty_portraits_comes_back_as_twenty_portraits_with_the_same_cover(
    logged_in_client, user, other_user
):
    original = _painted_character(user)
    exported = logged_in_client.get(reverse("studio:character_charx", args=[original.pk])).content
    first = _exported_hashes(exported)
    assert [kind for kind, _ in first] == ["icon"] + ["other"] * 19
    assert first[0][1] == cover_of(original).sha256  # the icon is the newest portrait

    logged_in_client.force_login(other_user)
    preview = logged_in_client.post(
        UPLOAD, {"file": SimpleUploadedFile("ava.charx", exported)}, follow=True
    ).content.decode()
    assert "The card holds 20 images" in preview
    job = CharacterImport.objects.latest("created_at")
    logged_in_client.post(reverse("studio:import_commit", args=[job.pk]))
    import_characters_task.call(job.pk)  # 20 images: the background task commits it
    page = logged_in_client.get(reverse("studio:import_detail", args=[job.pk])).content.decode()

    assert "Imported Ava with 20 portraits." in page
    copy_ = Character.objects.get(owner=other_user)
    imported = list(_portraits(copy_))
    assert len(imported) == 20
    for portrait in imported:
        assert portrait.owner == other_user and portrait.provider == Portrait.IMPORTED
        assert portrait.status == Portrait.Status.SUCCEEDED and portrait.batch is None
        assert portrait.estimated_cost == Decimal("0") and portrait.actual_cost == Decimal("0")
        assert portrait.width and portrait.height and portrait.file_size
        assert not portrait.is_public and portrait.thumbnail.name.endswith(".webp")
        with portrait.thumbnail.open("rb") as thumbnail:
            assert Image.open(thumbnail).format == "WEBP"
        assert portrait.prompt == "Imported from ava.charx"
    assert cover_of(copy_).sha256 == first[0][1], "the icon is the cover again"
    assert usage_today(other_user) == Usage(0, Decimal("0")), "imported images are not counted"
    queue = logged_in_client.get(reverse("studio:queue")).content.decode()
    assert "Imported from" not in queue

    again = logged_in_client.get(reverse("studio:character_charx", args=[copy_.pk])).content
    assert _exported_hashes(again) == first, "export, import, export: the same files in the same order"


def test_importing_the_same_charx_again_adds_no_portrait(logged_in_client, user, other_user):
    exported = logged_in_client.get(
        reverse("studio:character_charx", args=[_painted_character(user, 3).pk])
    ).content
    logged_in_client.force_login(other_user)
    _upload_and_commit(logged_in_client, "ava.charx", exported)

    response = logged_in_client.post(UPLOAD, {"file": SimpleUploadedFile("ava.charx", exported)}, follow=True)
    assert "1 unchanged" in response.content.decode()
    assert 'id="import-commit" disabled' not in response.content.decode(), "its images may be new"
    job = CharacterImport.objects.latest("created_at")
    page = logged_in_client.post(reverse("studio:import_commit", args=[job.pk]), follow=True).content.decode()

    assert "Ava was already up to date; 0 portraits added. 3 images were already among its portraits." in page
    character = Character.objects.get(owner=other_user)
    assert _portraits(character).count() == 3
    assert character.portrait_count == 3, "the characters list counts imported portraits once"


def test_re_importing_its_own_export_recognises_portraits_stored_before_hashes_were_kept(user):
    character = _painted_character(user, 3)
    charx = cards.export_charx(character)
    Portrait.objects.filter(character=character).update(sha256="")  # rows from before migration 0019

    report = cards.import_card_file(io.BytesIO(charx), import_sources.CHARX, user, name="ava.charx")

    assert report.character_ids == [character.pk] and report.portraits == 0
    assert _portraits(character).count() == 3
    stored = {_sha(p.image.open("rb").read()) for p in _portraits(character)}
    assert set(_portraits(character).values_list("sha256", flat=True)) == stored, "hashed on the way"


def test_a_public_character_makes_its_imported_portraits_public(user):
    card = {
        "spec": "chara_card_v3",
        "data": {"name": "Ava", "extensions": {"dali_studio": {"visibility": "public"}}},
    }
    charx = cardformat.write_charx(card, [("icon", "main", "png", _png())])
    cards.import_card_file(io.BytesIO(charx), import_sources.CHARX, user)
    character = Character.objects.get(owner=user)
    assert character.visibility == Visibility.PUBLIC
    assert _portraits(character).get().is_public


def test_a_charx_of_many_images_is_imported_in_the_background_with_progress(logged_in_client, user):
    count = card_portraits.BACKGROUND_IMAGES + 2
    charx = _charx([("icon" if n == 0 else "other", f"p{n}", "png", _png(8 + n)) for n in range(count)])
    preview = logged_in_client.post(UPLOAD, {"file": SimpleUploadedFile("many.charx", charx)}, follow=True)
    assert 'id="import-background"' in preview.content.decode()
    job = CharacterImport.objects.latest("created_at")

    logged_in_client.post(reverse("studio:import_commit", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == CharacterImport.Status.QUEUED and not Character.objects.exists()
    import_characters_task.call(job.pk)

    job.refresh_from_db()
    assert job.status == CharacterImport.Status.SUCCEEDED
    assert (job.processed_rows, job.total_rows, job.percent) == (count + 1, count + 1, 100)
    assert _portraits(Character.objects.get(owner=user)).count() == count
    page = logged_in_client.get(reverse("studio:import_detail", args=[job.pk])).content.decode()
    assert f"Imported Ava with {count} portraits." in page


# --- what is skipped ------------------------------------------------------------------------------------


def test_a_damaged_image_is_named_and_the_good_ones_kept(user):
    good = _png(20)
    flipped = bytearray(_png(30, (1, 2, 3)))
    flipped[flipped.index(b"IDAT") + 6] ^= 0xFF  # the IDAT checksum no longer matches
    charx = _charx(
        [
            ("icon", "main", "png", good),
            ("other", "damaged", "png", bytes(flipped)),
            ("other", "cut", "png", _png(40)[:60]),
            ("other", "text", "webp", b"not an image at all"),
            ("other", "photo", "jpg", _jpeg()),
            ("x_risu_voice", "hello", "mp3", b"ID3\x03\x00not really audio"),
            ("background", "sky", "png", _png(50)),
        ]
    )

    report = cards.import_card_file(io.BytesIO(charx), import_sources.CHARX, user, name="ava.charx")

    character = Character.objects.get(owner=user)
    assert report.created == 1 and report.portraits == 2
    assert report.portrait_notes == [
        "Skipped assets/x_risu_voice/audio/6.mp3: not a portrait image (x_risu_voice, .mp3).",
        "Skipped assets/background/images/7.png: not a portrait image (background, .png).",
        "Skipped assets/other/images/2.png: not a readable image.",
        "Skipped assets/other/images/3.png: not a readable image.",
        "Skipped assets/other/images/4.webp: not a readable image.",
    ]
    assert report.card_summary == "Imported Ava with 2 portraits. 3 images could not be imported (below)."
    photo = _portraits(character).get(parameters__asset="assets/other/images/5.jpg")
    with photo.image.open("rb") as stored:
        assert Image.open(stored).format == "PNG", "a JPEG is stored as a PNG"
    assert cover_of(character).sha256 == _sha(good)


def test_the_cap_on_portraits_per_import_is_said(user, settings):
    settings.CHARACTER_CHARX_MAX_PORTRAITS = 3
    charx = _charx(
        [("other", f"portrait-{n}", "png", _png(10 + n)) for n in range(1, 5)]
        + [("icon", "main", "png", _png(9))]
    )

    report = cards.import_card_file(io.BytesIO(charx), import_sources.CHARX, user)

    character = Character.objects.get(owner=user)
    assert report.portraits == 3
    assert report.portrait_notes == [
        "Only 3 images of a card become portraits in one import: 2 more images were left out."
    ]
    assert cover_of(character).width == 9, "the main icon is imported first, as the cover"
    assert sorted(_portraits(character).values_list("width", flat=True)) == [9, 11, 12]


def _bomb_png(side: int) -> bytes:
    """A 1-bit grey PNG of side x side pixels, all black: a few hundred KB that decode to side**2 bytes."""
    compressor, idat = zlib.compressobj(9), []
    row = bytes(1 + (side + 7) // 8)
    for _ in range(side):
        idat.append(compressor.compress(row))
    idat.append(compressor.flush())

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        cardformat.PNG_SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", b"".join(idat))
        + chunk(b"IEND", b"")
    )


def _peak_rss_growth(action) -> int:
    """Bytes the process's peak resident memory grew by during ``action`` (Linux: VmHWM, reset first)."""

    def kilobytes(name: str) -> int:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith(name + ":"))

    Path("/proc/self/clear_refs").write_text("5")
    before = kilobytes("VmRSS")
    action()
    return (kilobytes("VmHWM") - before) * 1024


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's VmHWM reset")
def test_decompression_bombs_are_refused_from_their_header_without_decoding(user):
    bomb = _bomb_png(40_000)  # 1.6 G pixels: Pillow's own guard
    large = _bomb_png(5_000)  # 25 M pixels: under Pillow's guard, over CHARACTER_CARD_MAX_IMAGE_PIXELS
    assert len(bomb) < 2 * MB and len(large) < MB
    charx = _charx(
        [("icon", "main", "png", _png()), ("other", "bomb", "png", bomb), ("other", "big", "png", large)]
    )
    reports = []

    growth = _peak_rss_growth(
        lambda: reports.append(cards.import_card_file(io.BytesIO(charx), import_sources.CHARX, user))
    )

    [report] = reports
    assert report.portraits == 1
    assert report.portrait_notes == [
        "Skipped assets/other/images/2.png: too many pixels to open safely.",
        "Skipped assets/other/images/3.png: 5000×5000 pixels, more than the 16,777,216 an imported image "
        "may have.",
    ]
    assert growth < 48 * MB, f"grew by {growth / MB:.0f} MB: decoding the 25 MP image alone takes 25 MB+"


# --- PNG cards ------------------------------------------------------------------------------------------


def test_a_png_cards_picture_becomes_its_portrait_once(user, other_user):
    picture = _png(64, (200, 30, 30), height=32)
    card = cards.export_card(CharacterFactory(owner=user, name="Ann"), picture)

    report = cards.import_card(card, other_user, name="ann.png")
    again = cards.import_card(card, other_user, name="ann.png")

    ann = Character.objects.get(owner=other_user)
    portrait = _portraits(ann).get()
    assert (report.portraits, again.portraits, again.card_summary) == (
        1,
        0,
        "Ann was already up to date; 0 portraits added. 1 image was already among its portraits.",
    )
    assert (portrait.width, portrait.height, portrait.model) == (64, 32, "PNG card")
    with portrait.image.open("rb") as stored:
        image = Image.open(stored)
        assert "chara" not in image.text and "ccv3" not in image.text, "the card chunks are not kept"


def test_its_own_png_card_imported_again_does_not_repeat_its_cover(user):
    character = _painted_character(user, 2)
    card = cards.export_card(character, cards.cover_png(character))  # the cover, re-encoded

    report = cards.import_card(card, user)

    assert report.character_ids == [character.pk] and report.portraits == 0
    assert "1 image was already among its portraits." in report.card_summary
    assert _portraits(character).count() == 2


def test_a_png_card_uploaded_on_the_web_says_its_picture_becomes_a_portrait(logged_in_client, user):
    card = cards.export_card(CharacterFactory(owner=user, name="Ann"), _png(32))
    Character.objects.all().delete()
    response = logged_in_client.post(UPLOAD, {"file": SimpleUploadedFile("ann.png", card)}, follow=True)
    assert "The card's picture becomes a portrait of the character" in response.content.decode()
    job = CharacterImport.objects.latest("created_at")
    page = logged_in_client.post(reverse("studio:import_commit", args=[job.pk]), follow=True).content.decode()
    assert "Imported Ann with 1 portrait." in page
    assert "Generate a portrait for this character" not in page, "it has one"


# --- the CLI --------------------------------------------------------------------------------------------


def test_the_command_imports_a_charxs_portraits(user, other_user, tmp_path, capsys):
    path = tmp_path / "ava.charx"
    path.write_bytes(cards.export_charx(_painted_character(user, 4)))

    call_command("import_characters", str(path), "--owner", other_user.email, "--dry-run")
    assert "Card for Ava with 4 images to import as portraits." in capsys.readouterr().out
    assert not Character.objects.filter(owner=other_user).exists()

    call_command("import_characters", str(path), "--owner", other_user.email)
    assert "Imported Ava with 4 portraits." in capsys.readouterr().out
    assert _portraits(Character.objects.get(owner=other_user)).count() == 4


# --- where imported portraits show ----------------------------------------------------------------------


def test_imported_portraits_show_as_imported_and_can_be_filtered(logged_in_client, user):
    cards.import_card_file(io.BytesIO(_charx([("icon", "main", "png", _png())])), import_sources.CHARX, user)
    portrait = Portrait.objects.get(owner=user)
    painted = PortraitFactory(character=portrait.character)
    painted.store_image(_png(12), {})

    gallery = logged_in_client.get(reverse("studio:my_gallery"), {"provider": "imported"}).content.decode()
    assert "Ignored a filter" not in gallery
    assert '<option value="imported" selected>Imported</option>' in gallery
    assert reverse("studio:portrait_thumbnail", args=[portrait.pk]) in gallery
    assert reverse("studio:portrait_thumbnail", args=[painted.pk]) not in gallery
    detail = logged_in_client.get(portrait.get_absolute_url()).content.decode()
    assert "<dt>Provider / model</dt><dd>Imported · CHARX</dd>" in detail
    stats = logged_in_client.get(reverse("studio:gallery_stats")).content.decode()
    assert "Imported" in stats
    usage = logged_in_client.get(reverse("studio:usage"))
    assert usage.status_code == 200 and "Imported" not in usage.content.decode(), "nothing spent on it"
    character_page = logged_in_client.get(portrait.character.get_absolute_url()).content.decode()
    assert "Imported" in character_page
    remix = logged_in_client.get(reverse("studio:quick_generate"), {"remix": portrait.pk})
    assert remix.status_code == 200


def test_the_import_report_keeps_its_fields_through_json(user):
    report = cards.import_card_file(
        io.BytesIO(_charx([("icon", "main", "png", _png())])), import_sources.CHARX, user
    )
    again = type(report).from_dict(json.loads(json.dumps(report.to_dict())))
    assert (again.portraits, again.card_summary) == (1, "Imported Ava with 1 portrait.")
