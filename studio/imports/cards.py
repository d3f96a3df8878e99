"""Character cards: a PNG with the character as JSON in a text chunk, as other character tools read them.

Export writes a Character Card V2 (``chara_card_v2``) as base64 JSON in a ``chara`` tEXt chunk, with our
attributes under ``data.extensions.dali_studio``. Import reads V3 (``ccv3``, preferred) or V2 (``chara``)
cards. Text chunks are read straight from the PNG's chunk list, so no pixel data is ever decompressed;
Pillow only checks the header, with its decompression-bomb guard.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import warnings
import zlib
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from PIL import Image, PngImagePlugin, UnidentifiedImageError

from studio.characters import vocabulary as v
from studio.characters.models import Character
from studio.characters.prompts import character_prompt
from studio.imports import commit as import_commit
from studio.imports import sources as import_sources

DEFAULT_MAX_CARD_BYTES = 20 * 1024 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXTENSION = "dali_studio"
EXTENSIONS_NOTE = "Card extensions: "
_OWN_FIELDS = (*v.NAMES, "distinguishing_features", "negative_prompt", "visibility")
_TEXT_FIELDS = (
    "personality",
    "scenario",
    "first_mes",
    "mes_example",
    "creator_notes",
    "system_prompt",
    "post_history_instructions",
    "alternate_greetings",
    "creator",
    "character_version",
)


def max_card_bytes() -> int:
    return int(getattr(settings, "CHARACTER_CARD_MAX_BYTES", DEFAULT_MAX_CARD_BYTES))


# --- export ---------------------------------------------------------------------------------------------


def _stored_extensions(notes: str) -> dict[str, Any]:
    """Extensions of an imported card that we do not understand, kept in the notes to write back out."""
    for line in notes.splitlines():
        if line.startswith(EXTENSIONS_NOTE):
            try:
                stored = json.loads(line[len(EXTENSIONS_NOTE) :])
            except ValueError:
                return {}
            return stored if isinstance(stored, dict) else {}
    return {}


def card_data(character: Character) -> dict[str, Any]:
    """The Character Card V2 document for a character."""
    extensions = _stored_extensions(character.notes)
    ours = dict(extensions.get(EXTENSION) or {})  # unknown keys of a newer version survive
    ours.update({name: getattr(character, name) for name in _OWN_FIELDS})
    ours["version"] = character.version
    extensions[EXTENSION] = ours
    tags = [
        attribute.label_of(getattr(character, attribute.name))
        for attribute in (v.GENDER, v.AGE, v.CLOTHING_STYLE, v.ART_STYLE)
        if getattr(character, attribute.name)
    ]
    return {
        "spec": "chara_card_v2",
        "spec_version": "2.0",
        "data": {
            "name": character.name,
            "description": character_prompt(character).text,
            "personality": "",
            "scenario": "",
            "first_mes": "",
            "mes_example": "",
            "creator_notes": "",
            "system_prompt": "",
            "post_history_instructions": "",
            "alternate_greetings": [],
            "tags": tags,
            "creator": "Dali Studio",
            "character_version": str(character.version),
            "extensions": extensions,
        },
    }


def _placeholder_image() -> Image.Image:
    return Image.new("RGB", (400, 600), (226, 226, 222))


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
    """A PNG card: the given portrait (or a plain placeholder) with the V2 JSON in a ``chara`` chunk."""
    image = _open_image(image_bytes) if image_bytes else _placeholder_image()
    if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        image = image.convert("RGBA")
    info = PngImagePlugin.PngInfo()
    payload = json.dumps(card_data(character), ensure_ascii=False).encode("utf-8")
    info.add_text("chara", base64.b64encode(payload).decode("ascii"))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


# --- import ---------------------------------------------------------------------------------------------


def _inflate(data: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(data, limit)
    except zlib.error:
        raise import_sources.ImportProblem("The card's text chunk is corrupt.") from None
    if inflater.unconsumed_tail:
        raise import_sources.ImportProblem("The card's text chunk is too large.")
    return text


def png_text_chunks(png: bytes) -> dict[str, str]:
    """Keyword -> text of the tEXt, zTXt and iTXt chunks (first of each keyword), without decoding pixels."""
    if not png.startswith(PNG_SIGNATURE):
        raise import_sources.ImportProblem("This is not a PNG image, so it cannot be a character card.")
    limit = max_card_bytes()
    texts: dict[str, str] = {}
    position = len(PNG_SIGNATURE)
    while position + 8 <= len(png):
        length = int.from_bytes(png[position : position + 4], "big")
        kind = png[position + 4 : position + 8]
        body = png[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IEND" or len(body) < length:
            break
        if kind not in (b"tEXt", b"zTXt", b"iTXt"):
            continue
        keyword, _, rest = body.partition(b"\0")
        key = keyword.decode("latin-1")
        if kind == b"tEXt":
            text = rest.decode("latin-1")
        elif kind == b"zTXt":
            text = _inflate(rest[1:], limit).decode("latin-1")
        else:
            if len(rest) < 2:
                continue
            compressed, rest = rest[0], rest[2:]
            _language, _, rest = rest.partition(b"\0")
            _translated, _, raw = rest.partition(b"\0")
            text = (_inflate(raw, limit) if compressed else raw).decode("utf-8", errors="replace")
        texts.setdefault(key, text)
    return texts


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


def read_card(png: bytes) -> dict[str, Any]:
    """The card JSON of a PNG card, V3 (``ccv3``) in preference to V2 (``chara``)."""
    if len(png) > max_card_bytes():
        size, limit = len(png) / 1_048_576, max_card_bytes() / 1_048_576
        raise import_sources.ImportProblem(f"The card is {size:.1f} MB; the limit is {limit:.0f} MB.")
    _check_image(png)
    chunks = png_text_chunks(png)
    encoded = chunks.get("ccv3") or chunks.get("chara")
    if not encoded:
        raise import_sources.ImportProblem(
            "This PNG has no character card in it (no “chara” or “ccv3” chunk)."
        )
    try:
        card = json.loads(base64.b64decode(encoded.strip(), validate=False).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError):
        raise import_sources.ImportProblem("The character card's data is not readable JSON.") from None
    if not isinstance(card, dict):
        raise import_sources.ImportProblem("The character card's data is not a character.")
    return card


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
    """A card as an import record: our extension when present, else what maps; the rest goes to notes."""
    data = card.get("data") if isinstance(card.get("data"), Mapping) else card
    assert isinstance(data, Mapping)
    record: dict[str, Any] = {"name": data.get("name") or ""}
    notes: list[str] = []
    extensions = data.get("extensions") if isinstance(data.get("extensions"), Mapping) else {}
    assert isinstance(extensions, Mapping)
    ours = extensions.get(EXTENSION)
    kept = {key: value for key, value in extensions.items() if key != EXTENSION}
    if isinstance(ours, Mapping):
        record.update({name: ours[name] for name in _OWN_FIELDS if name in ours})
        unknown = {key: value for key, value in ours.items() if key not in (*_OWN_FIELDS, "version")}
        if unknown:
            kept[EXTENSION] = unknown
    else:
        record.update(_tag_values(data.get("tags")))
        if data.get("description"):
            notes.append(f"Description: {data['description']}")
    for name in _TEXT_FIELDS:
        value = data.get(name)
        if value and not (isinstance(ours, Mapping) and name in ("creator", "character_version")):
            text = "\n".join(map(str, value)) if isinstance(value, list) else str(value)
            notes.append(f"{name.replace('_', ' ').capitalize()}: {text}")
    if kept:
        notes.append(EXTENSIONS_NOTE + json.dumps(kept, ensure_ascii=False, sort_keys=True))
    if notes:
        record["notes"] = "\n".join(notes)
    return record


def import_card(png_bytes: bytes, owner: Any) -> import_commit.ImportReport:
    """Create or update (by name) the character in a PNG card."""
    return import_commit.import_records([card_record(read_card(png_bytes))], owner)
