"""Character cards in and out: PNG cards (``chara`` V2 + ``ccv3`` V3 tEXt chunks) and CHARX zips.

The formats live in ``cardformat`` (no Django); this module maps a card onto a character and back:

- ``data.name`` and ``data.description`` are the character's name and description. A card from another
  tool keeps its description as the character's description. Our export writes the description, or when
  there is none the character's prompt text (so other tools show something); importing our own card
  recognises that generated text (it equals the prompt of the card's attributes) and leaves it out.
- Our attributes (the vocabulary, exact age, distinguishing features, negative prompt, visibility) are
  under ``data.extensions.dali_studio``, with ``version``; unknown keys there (a newer version) are kept.
  That extension is written only when the character has something of ours, so a card from another tool
  with none goes back out as it came in.
- Everything else of ``data`` (personality, scenario, greetings, system prompt, the ``character_book``
  lorebook, tags, creator, V3 fields, unknown fields, every other tool's ``extensions`` key) is kept
  exactly in ``Character.card``; top-level card fields outside ``data`` (SillyTavern's V1 copies,
  ``create_date``...) under ``Character.CARD_TOP_LEVEL``, refreshed from ``data`` on write.
- V3 ``assets``: a PNG card names its own image as the ``icon`` (``ccdefault:``). A CHARX holds the
  character's succeeded portraits: the cover (newest) as the ``icon`` named ``main``, the others as type
  ``other`` named ``portrait-<n>``, all PNG, under file names we choose. Importing a CHARX reads its
  ``card.json`` (bounded by the CHARACTER_CHARX_* settings) and makes its images (``icon``, ``other`` and
  ``x_...`` assets in PNG, JPEG or WebP) portraits of the character, the main icon as the newest (the
  cover); importing a PNG card makes its picture a portrait. ``card_portraits`` does that: validated one at
  a time, duplicates skipped, not counted in the daily limits; other assets (audio, backgrounds...) are
  named in the report and left out. Embedded assets' entries are not kept in ``Character.card``: an export
  writes the portraits instead.
- ``creation_date``/``modification_date`` (V3, Unix seconds): the card's own when it had them, else the
  character's; editing the card in the form drops the old modification date.
"""

from __future__ import annotations

import copy
import io
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any, BinaryIO

from django.conf import settings
from PIL import Image, UnidentifiedImageError

from studio.characters import vocabulary as v
from studio.characters.models import Character, Visibility, name_key
from studio.characters.prompts import build_prompt, character_prompt
from studio.imports import card_portraits, cardformat
from studio.imports import commit as import_commit
from studio.imports import rows as import_rows
from studio.imports import sources as import_sources
from studio.portraits import references
from studio.portraits.models import Portrait

DEFAULT_MAX_CARD_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_CHARX_BYTES = 50 * 1024 * 1024
EXTENSION = "dali_studio"
# Our attributes under extensions.dali_studio (besides "version"); everything else there is kept as found.
OWN_FIELDS = (*v.NAMES, "age_years", "distinguishing_features", "negative_prompt", "visibility")
PNG_SIGNATURE = cardformat.PNG_SIGNATURE
ICON = {"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"}


def max_card_bytes() -> int:
    return int(getattr(settings, "CHARACTER_CARD_MAX_BYTES", DEFAULT_MAX_CARD_BYTES))


def max_card_text_bytes() -> int:
    return int(getattr(settings, "CHARACTER_CARD_MAX_TEXT_BYTES", cardformat.DEFAULT_MAX_TEXT_BYTES))


def charx_limits() -> dict[str, int]:
    """read_charx's limits, from settings."""
    return {
        "max_bytes": int(getattr(settings, "CHARACTER_CHARX_MAX_BYTES", DEFAULT_MAX_CHARX_BYTES)),
        "max_card_json_bytes": max_card_text_bytes(),
        "max_asset_bytes": int(
            getattr(settings, "CHARACTER_CHARX_MAX_ASSET_BYTES", cardformat.DEFAULT_MAX_ASSET_BYTES)
        ),
        "max_total_uncompressed": int(
            getattr(settings, "CHARACTER_CHARX_MAX_TOTAL_BYTES", cardformat.DEFAULT_MAX_TOTAL_UNCOMPRESSED)
        ),
        "max_entries": int(getattr(settings, "CHARACTER_CHARX_MAX_ENTRIES", cardformat.DEFAULT_MAX_ENTRIES)),
    }


def upload_limit(name: str) -> int:
    """The most an upload may send: a CHARX (by its name; its content is checked later) may be larger."""
    if name.rsplit(".", 1)[-1].casefold() in ("charx", "zip"):
        return max(charx_limits()["max_bytes"], import_sources.max_bytes())
    return import_sources.max_bytes()


# --- export ---------------------------------------------------------------------------------------------


def _ours(character: Character) -> dict[str, Any]:
    """Our attributes that differ from a new character's, as the extension writes them."""
    found = {name: getattr(character, name) for name in OWN_FIELDS}
    return {
        name: value
        for name, value in found.items()
        if value not in ("", None, []) and not (name == "visibility" and value == Visibility.PRIVATE)
    }


def _timestamp(moment: Any) -> int:
    return int(moment.timestamp())


def card_v3(character: Character, *, charx: bool = False) -> dict[str, Any]:
    """The V3 card of a character (for a PNG card, or with ``charx`` the card.json before its assets)."""
    data = copy.deepcopy(character.card) if isinstance(character.card, dict) else {}
    top = data.pop(Character.CARD_TOP_LEVEL, None)
    extensions = data.get("extensions") if isinstance(data.get("extensions"), dict) else {}
    kept = dict(extensions.get(EXTENSION) or {}) if isinstance(extensions.get(EXTENSION), dict) else {}
    ours = _ours(character)
    if ours or kept:  # a card from another tool with nothing of ours goes back out without it
        everything = {name: getattr(character, name) for name in OWN_FIELDS}
        extensions[EXTENSION] = {**kept, **everything, "version": character.version}
    data["extensions"] = extensions
    description = character.description or (character_prompt(character).text if ours else "")
    data.update(name=character.name, description=description)
    if "tags" not in data:
        data["tags"] = [
            attribute.label_of(getattr(character, attribute.name))
            for attribute in (v.GENDER, v.AGE, v.CLOTHING_STYLE, v.ART_STYLE)
            if getattr(character, attribute.name)
        ]
    data.setdefault("creator", "Dali Studio")
    data.setdefault("character_version", str(character.version))
    data.setdefault("creation_date", _timestamp(character.created_at))
    data.setdefault("modification_date", _timestamp(character.updated_at))
    assets = [a for a in data.get("assets") or [] if not _embedded(a) and not (charx and _is_default_icon(a))]
    if not charx and not any(isinstance(a, dict) and a.get("type") == "icon" for a in assets):
        assets.insert(0, dict(ICON))
    data["assets"] = assets
    card = {**(top if isinstance(top, dict) else {}), "spec": cardformat.V3_SPEC, "data": data}
    try:
        return cardformat.CardData.from_card(card).to_v3()
    except cardformat.CardError:  # stored data we cannot write as a card field: write what we know
        return cardformat.CardData.from_card({"spec": cardformat.V3_SPEC, "data": _minimal(data)}).to_v3()


def _minimal(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: data.get(key) for key in ("name", "description", "creator", "character_version")}


def _embedded(asset: Any) -> bool:
    return isinstance(asset, dict) and str(asset.get("uri", "")).startswith(cardformat.EMBEDDED_SCHEMES)


def _is_default_icon(asset: Any) -> bool:
    return isinstance(asset, dict) and asset.get("type") == "icon" and asset.get("uri") == "ccdefault:"


def card_data(character: Character) -> dict[str, Any]:
    """The card as a V2 reader sees it (V3-only fields stay inside ``data``, where V2 readers ignore them)."""
    return cardformat.v2_from_v3(card_v3(character))


def _open_image(data: bytes) -> Image.Image:
    if len(data) > max_card_bytes():
        raise import_sources.ImportProblem("The image is too large.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise import_sources.ImportProblem("The image has too many pixels to open safely.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise import_sources.ImportProblem("The image cannot be read.") from None
    return image


def export_card(character: Character, image_bytes: bytes | None = None) -> bytes:
    """A PNG card: the given image (or a plain placeholder) with ``chara`` (V2) and ``ccv3`` (V3) chunks."""
    image = _open_image(image_bytes) if image_bytes else Image.new("RGB", (400, 600), (226, 226, 222))
    if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        image = image.convert("RGBA")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")  # re-encoded: no text chunk of the original (or of a generator) goes out
    v3 = card_v3(character)
    return cardformat.write_png_card(buffer.getvalue(), v3, cardformat.v2_from_v3(v3))


def succeeded_portraits(character: Character) -> Iterator[Portrait]:
    """The character's finished portraits, its cover first (the chosen one, else the newest), then newest
    first."""
    cover = references.cover_of(character)
    if cover is not None and cover.image:
        yield cover
    yield from (
        Portrait.objects.filter(character=character, status=Portrait.Status.SUCCEEDED)
        .exclude(image="")
        .exclude(pk=cover.pk if cover is not None else None)
        .order_by("-created_at", "-id")
        .iterator(chunk_size=50)
    )


def cover_png(character: Character) -> bytes | None:
    portrait = next(succeeded_portraits(character), None)
    if portrait is None:
        return None
    with portrait.image.open("rb") as image:
        return image.read()


def export_charx(character: Character, fallback_png: Callable[[], bytes] | None = None) -> bytes:
    """A CHARX: card.json and the portraits (cover as ``icon``, the rest ``other``), newest first.

    Portraits are added while the archive stays within what our own importer accepts (the CHARX limits).
    ``fallback_png`` makes the icon when the character has no portrait yet.
    """
    limits = charx_limits()
    room = min(limits["max_bytes"], limits["max_total_uncompressed"]) - limits["max_card_json_bytes"]
    count_left = limits["max_entries"] - 1
    assets: list[tuple[str, str, str, bytes]] = []
    for portrait in succeeded_portraits(character):
        with portrait.image.open("rb") as image:
            data = image.read(limits["max_asset_bytes"] + 1)
        if len(data) > limits["max_asset_bytes"] or len(data) > room or count_left <= 0:
            continue
        room -= len(data)
        count_left -= 1
        kind, name = ("icon", "main") if not assets else ("other", f"portrait-{len(assets)}")
        assets.append((kind, name, "png", data))
    if not assets and fallback_png:
        assets.append(("icon", "main", "png", fallback_png()))
    return cardformat.write_charx(card_v3(character, charx=True), assets)


# --- import ---------------------------------------------------------------------------------------------


def _problem(error: cardformat.CardError) -> import_sources.ImportProblem:
    return import_sources.ImportProblem(str(error))


def _check_image(png: bytes) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(png)) as image:
                image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise import_sources.ImportProblem("The card image has too many pixels to open safely.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise import_sources.ImportProblem("The card image is damaged or not a PNG.") from None


def read_card(png: bytes | BinaryIO) -> dict[str, Any]:
    """The card JSON of a PNG card, V3 (``ccv3``) in preference to V2 (``chara``), read within limits."""
    stream = io.BytesIO(png) if isinstance(png, bytes | bytearray) else png
    start = stream.tell()
    if stream.seek(0, io.SEEK_END) - start <= max_card_bytes():  # else read_png_card says so
        stream.seek(start)
        _check_image(stream.read())  # Pillow's bomb guard; pixels are not decoded
    stream.seek(start)
    try:
        return cardformat.read_png_card(
            stream, max_bytes=max_card_bytes(), max_text_bytes=max_card_text_bytes()
        )
    except cardformat.CardError as error:
        raise _problem(error) from None


def open_charx(stream: BinaryIO) -> tuple[dict[str, Any], list[cardformat.CharxAsset]]:
    """The V3 card of a CHARX archive and its embedded assets, to read one at a time within the limits."""
    try:
        return cardformat.read_charx(stream, **charx_limits())
    except cardformat.CardError as error:
        raise _problem(error) from None


def read_charx(stream: BinaryIO) -> dict[str, Any]:
    """The V3 card of a CHARX archive (its assets are not read)."""
    return open_charx(stream)[0]


def read_card_file(stream: BinaryIO, kind: str) -> tuple[dict[str, Any], int]:
    """The card of a PNG card or CHARX (sources.CARD/CHARX) and how many of its images would become
    portraits (a PNG card's picture; a CHARX's portrait assets, none of them read)."""
    if kind == import_sources.CHARX:
        card, assets = open_charx(stream)
        return card, sum(1 for asset in assets if card_portraits.is_portrait_asset(asset))
    return read_card(stream), 1


def _tag_values(tags: Any) -> dict[str, str]:
    """Tags that name exactly one vocabulary choice (e.g. "blonde"); ambiguous ones are skipped."""
    found: dict[str, str] = {}
    for tag in tags if isinstance(tags, list) else []:
        if not isinstance(tag, str):
            continue
        hits = [(a.name, c.key) for a in v.ATTRIBUTES if not a.multiple and (c := v.match_choice(a, tag))]
        if len(hits) == 1:
            found.setdefault(*hits[0])
    return found


def card_record(card: Mapping[str, Any]) -> dict[str, Any]:
    """A card as an import record: name, description, our attributes, and the rest as ``card`` data."""
    try:
        parsed = cardformat.CardData.from_card(card)
    except cardformat.CardError as error:
        raise _problem(error) from None
    data = parsed.to_data()
    top = {key: value for key, value in parsed.card_extra.items()}
    record: dict[str, Any] = {"name": data.pop("name"), "description": data.pop("description")}
    extensions = data["extensions"]
    ours = extensions.get(EXTENSION)
    if isinstance(ours, dict):
        record.update({name: ours[name] for name in OWN_FIELDS if name in ours})
        unknown = {key: value for key, value in ours.items() if key not in (*OWN_FIELDS, "version")}
        if unknown:
            extensions[EXTENSION] = unknown
        else:
            del extensions[EXTENSION]
        attributes = {name: ours.get(name) for name in Character.PROMPT_FIELDS}
        try:
            generated = build_prompt(attributes).text
        except (TypeError, AttributeError, ValueError):
            generated = None
        if record["description"] == generated:
            record["description"] = ""  # the prompt text our export wrote in place of a description
    else:
        record.update(_tag_values(data.get("tags")))
    if top:
        data[Character.CARD_TOP_LEVEL] = top
    record["card"] = data
    return record


def import_card(png_bytes: bytes, owner: Any, name: str = "") -> import_commit.ImportReport:
    """Create or update (by name) the character in a PNG card, its picture as a portrait."""
    return import_card_file(io.BytesIO(png_bytes), import_sources.CARD, owner, name=name)


def _png_bytes(stream: BinaryIO) -> bytes:
    data = stream.read(max_card_bytes() + 1)
    if len(data) > max_card_bytes():
        raise import_sources.ImportProblem("The card is larger than the limit for a PNG card.")
    return data


def import_card_file(
    stream: BinaryIO,
    kind: str,
    owner: Any,
    *,
    name: str = "",
    record: Mapping[str, Any] | None = None,
    all_or_nothing: bool = False,
    progress: import_commit.Progress | None = None,
) -> import_commit.ImportReport:
    """Create or update (by name) the character of a PNG card or CHARX (sources.CARD/CHARX), then make the
    card's images its portraits (card_portraits), one at a time. ``record`` is the card as the preview read
    it, when there was one; ``name`` the file's name, for the portraits' prompt."""
    result = card_portraits.PortraitImport()
    if kind == import_sources.CHARX:
        card, assets = open_charx(stream)
        pictures = card_portraits.charx_pictures(assets, result)
        model = "CHARX"
    else:
        png = _png_bytes(stream)
        card = read_card(png) if record is None else {}
        pictures, model = [card_portraits.card_picture(png)], "PNG card"
    record = card_record(card) if record is None else record
    report = import_commit.import_records([record], owner, all_or_nothing=all_or_nothing, progress=progress)
    character = _imported_character(owner, record, report)
    if character is None:
        return report
    steps = 1 + len(pictures)  # the character, then each picture (a background import's progress bar)

    def tick(done: int) -> None:
        if progress is not None:
            progress(1 + done, steps)

    card_portraits.import_pictures(
        character, pictures, origin=name, model=model, result=result, progress=tick
    )
    tick(len(pictures))
    status = (
        import_rows.NEW if report.created else import_rows.UPDATE if report.updated else import_rows.UNCHANGED
    )
    report.portraits = result.imported
    report.card_summary = card_portraits.summary(character.name, status, len(pictures), result)
    report.portrait_notes = result.all_notes()
    return report


def _imported_character(
    owner: Any, record: Mapping[str, Any], report: import_commit.ImportReport
) -> Character | None:
    """The character a one-card import created, updated or left unchanged (None when it was rejected)."""
    if not report.committed or report.invalid:
        return None
    if report.character_ids:
        return Character.objects.filter(owner=owner, pk=report.character_ids[0]).first()
    row = next(import_rows.record_rows([record]))
    name = row.name
    characters = Character.objects.filter(owner=owner)
    found = characters.filter(name=name).first()
    if found is not None or not name:
        return found
    folded = name_key(name)
    for candidates in (characters.filter(name__iexact=name), characters):
        for pk, stored in candidates.values_list("id", "name").iterator(chunk_size=5000):
            if name_key(stored) == folded:
                return characters.get(pk=pk)
    return None
