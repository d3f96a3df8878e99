"""A character card's pictures become portraits of its character: a CHARX's images, a PNG card's own picture.

- Which: the CHARX assets of type ``icon``, ``other`` or ``x_...`` whose ``ext`` is png, jpg, jpeg or webp.
  Every other asset (a background, an emotion, audio, video) is named in the import report and left out.
- Order: the ``main`` icon becomes the character's newest portrait, so the cover our export wrote is the
  cover again; the other images follow in the card's order, each a millisecond older than the one before
  (our export writes them newest first), so export, import and export again give the same files in the
  same order.
- Safety: one asset at a time, read through the CHARX limits (CharxAsset's budget). Pillow opens it as PNG,
  JPEG or WebP only, under the decompression-bomb guard, and its size from the header is held to
  CHARACTER_CARD_MAX_IMAGE_PIXELS before a pixel is decoded; a PNG is verified (chunk checksums) and then
  decoded once, to make the thumbnail as a generated portrait's (encode_portrait_files). A PNG is stored as
  it came, less any ``chara``/``ccv3`` card chunks; JPEG and WebP are turned upright (EXIF) and stored as
  PNG. An image that fails is skipped with a note naming it; the character and the other images stay.
- Duplicates: an image whose stored bytes hash (SHA-256) like a portrait of the character is skipped, so
  importing the same card again adds nothing (Portrait.sha256; portraits stored before it was kept are
  hashed when their file size matches, and keep the hash). A PNG card's picture is also compared pixel for
  pixel with the character's cover, which our PNG card export re-encodes.
- Cost: provider "imported" (shown as "Imported"), no cost, queued_at NEVER_QUEUED: nothing counts towards
  the daily limits, the Usage page or the queue. Private, and public with their character (Portrait.save).
- At most CHARACTER_CHARX_MAX_PORTRAITS new portraits per import; the report says how many were left out.
"""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import DatabaseError, transaction
from django.utils import timezone
from PIL import Image, ImageOps

from studio.characters.models import Character
from studio.imports import cardformat
from studio.imports.rows import NEW, UPDATE
from studio.portraits.files import IMAGE_DECODE_ERRORS, PortraitFiles, encode_portrait_files
from studio.portraits.models import NEVER_QUEUED, Portrait
from studio.portraits.references import cover_of
from studio.text import counted

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "webp"})
FORMATS = ("PNG", "JPEG", "WEBP")  # the only decoders Pillow may use on an asset
DEFAULT_MAX_PORTRAITS = 100
DEFAULT_MAX_PIXELS = 4096 * 4096
MAX_NOTES = 50  # notes kept per import; the rest are counted
# Portraits stored before Portrait.sha256 existed, hashed per image while looking for a duplicate: those of
# the same file size, newest first (an export holds the newest).
MAX_UNHASHED = 20
CARD_PICTURE = "the card's picture"
# A CHARX with more images than this is committed by the background task (up to a second or so an image).
BACKGROUND_IMAGES = 10


def max_portraits() -> int:
    return int(getattr(settings, "CHARACTER_CHARX_MAX_PORTRAITS", DEFAULT_MAX_PORTRAITS))


def max_pixels() -> int:
    return int(getattr(settings, "CHARACTER_CARD_MAX_IMAGE_PIXELS", DEFAULT_MAX_PIXELS))


class Unusable(Exception):
    """An image that is skipped; the message says why ("not a readable image")."""


@dataclass(frozen=True)
class Picture:
    """One image to import: its name in the card ("assets/icon/images/1.png") and how to read its bytes."""

    label: str
    read: Callable[[], bytes]
    card_picture: bool = False  # a PNG card's own picture: also compared with the character's cover


@dataclass
class PortraitImport:
    imported: int = 0
    duplicates: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)
    unlisted: int = 0  # notes past MAX_NOTES

    def note(self, text: str) -> None:
        if len(self.notes) < MAX_NOTES:
            self.notes.append(text)
        else:
            self.unlisted += 1

    def all_notes(self) -> list[str]:
        more = [f"… and {counted(self.unlisted, 'more note')}."] if self.unlisted else []
        return [*self.notes, *more]


# --- which images ---------------------------------------------------------------------------------------


def is_portrait_asset(asset: cardformat.CharxAsset) -> bool:
    kind = asset.type.lower()
    return (kind in ("icon", "other") or kind.startswith("x_")) and asset.ext in IMAGE_EXTENSIONS


def _newest_first(asset: cardformat.CharxAsset) -> tuple[bool, bool, int]:
    icon = asset.type.lower() == "icon"
    return (not (icon and asset.name == "main"), not icon, asset.index)


def charx_pictures(assets: Iterable[cardformat.CharxAsset], result: PortraitImport) -> list[Picture]:
    """The CHARX's portrait images, newest first (the main icon, other icons, the rest in card order); the
    other assets are noted in ``result`` as left out."""
    chosen = []
    for asset in assets:
        if is_portrait_asset(asset):
            chosen.append(asset)
        else:
            what = ", ".join(part for part in (asset.type, f".{asset.ext}" if asset.ext else "") if part)
            result.note(f"Skipped {asset.path}: not a portrait image ({what or 'no type'}).")
    return [Picture(asset.path, asset.read) for asset in sorted(chosen, key=_newest_first)]


def card_picture(png: bytes) -> Picture:
    return Picture(CARD_PICTURE, lambda: png, card_picture=True)


# --- reading an image safely ----------------------------------------------------------------------------


@contextmanager
def _reading() -> Iterator[None]:
    """Pillow under the decompression-bomb guard; whatever it cannot read becomes Unusable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Unusable("too many pixels to open safely") from None
    except Unusable:
        raise
    except (*IMAGE_DECODE_ERRORS, cardformat.CardError):
        raise Unusable("not a readable image") from None
    except Exception:  # a decoder's surprise on hostile bytes (a KeyError in EXIF...): this image only
        logger.warning("An imported image could not be read", exc_info=True)
        raise Unusable("not a readable image") from None


def _opened(data: bytes) -> Image.Image:
    """The image, its header read and its size checked; no pixel decoded yet. Call within _reading()."""
    image = Image.open(io.BytesIO(data), formats=FORMATS)
    width, height = image.size
    if width * height > (cap := max_pixels()):
        image.close()
        raise Unusable(f"{width}×{height} pixels, more than the {cap:,} an imported image may have")
    return image


def stored_png(data: bytes) -> bytes:
    """The PNG to store for an image's bytes: a PNG as it is (less card chunks), verified without decoding;
    a JPEG or WebP decoded, turned upright and encoded as PNG. Raises Unusable."""
    with _reading():
        if data.startswith(cardformat.PNG_SIGNATURE):
            png = cardformat.without_card_chunks(data)
            with _opened(png) as image:
                image.verify()
            return png
        with _opened(data) as image:
            upright = ImageOps.exif_transpose(image)
            if upright.mode not in ("RGB", "RGBA", "L", "LA"):
                upright = upright.convert("RGBA" if "A" in upright.getbands() else "RGB")
            buffer = io.BytesIO()
            upright.save(buffer, "PNG", compress_level=6)
        return buffer.getvalue()


def _files(png: bytes) -> PortraitFiles:
    with _reading():
        _opened(png).close()  # the size check again: encode_portrait_files decodes every pixel
        return encode_portrait_files(png)


# --- duplicates -----------------------------------------------------------------------------------------


def _file_sha256(portrait: Portrait) -> str | None:
    digest = hashlib.sha256()
    try:
        with portrait.image.open("rb") as file:
            while block := file.read(1024 * 1024):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def _already_there(character: Character, digest: str, size: int) -> bool:
    """Whether the character has a portrait whose stored file hashes to ``digest``."""
    portraits = Portrait.objects.filter(owner_id=character.owner_id, character=character)
    if portraits.filter(sha256=digest).exists():
        return True
    unhashed = (
        portraits.filter(sha256="", file_size=size, status=Portrait.Status.SUCCEEDED)
        .exclude(image="")
        .order_by("-created_at", "-id")[:MAX_UNHASHED]
    )
    for portrait in unhashed:
        found = _file_sha256(portrait)
        if found is not None:
            Portrait.objects.filter(pk=portrait.pk, sha256="").update(sha256=found)
        if found == digest:
            return True
    return False


def _pixels(data: bytes) -> Image.Image:
    with _opened(data) as image:
        return image.convert("RGBA")


def _is_cover(character: Character, png: bytes, files: PortraitFiles) -> bool:
    """Whether the PNG shows the character's cover pixel for pixel (our PNG card re-encodes the cover)."""
    cover = cover_of(character)
    if cover is None or not cover.image or (cover.width, cover.height) != (files.width, files.height):
        return False
    try:
        with cover.image.open("rb") as file:
            stored = file.read()
        with _reading():
            return _pixels(stored).tobytes() == _pixels(png).tobytes()
    except (OSError, Unusable):
        return False


# --- storing --------------------------------------------------------------------------------------------


def _store(
    character: Character, files: PortraitFiles, digest: str, created_at: Any, **fields: Any
) -> Portrait:
    portrait = Portrait(
        owner_id=character.owner_id,
        character=character,
        character_version=character.version,
        provider=Portrait.IMPORTED,
        seed=0,
        status=Portrait.Status.SUCCEEDED,
        width=files.width,
        height=files.height,
        file_size=len(files.png),
        sha256=digest,
        estimated_cost=Decimal("0"),
        actual_cost=Decimal("0"),
        created_at=created_at,
        queued_at=NEVER_QUEUED,
        finished_at=timezone.now(),
        **fields,
    )
    saved: list[Any] = []
    try:
        portrait.image.save("portrait.png", ContentFile(files.png), save=False)
        saved.append(portrait.image)
        portrait.thumbnail.save("thumb.webp", ContentFile(files.webp), save=False)
        saved.append(portrait.thumbnail)
        with transaction.atomic():
            portrait.save()  # is_public follows the character's visibility
    except BaseException:
        for file in saved:
            file.storage.delete(file.name)
        raise
    return portrait


def import_pictures(
    character: Character,
    pictures: list[Picture],
    *,
    origin: str,
    model: str,
    result: PortraitImport,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Store each picture as a portrait of the character, newest first, one at a time (see the module);
    ``progress`` is told how many pictures are done, after each."""
    limit = max_portraits()
    newest = timezone.now()
    origin = origin or "a character card"
    for position, picture in enumerate(pictures):
        if progress is not None and position:
            progress(position)
        if result.imported >= limit:
            left = len(pictures) - position
            result.note(
                f"Only {counted(limit, 'image')} of a card become portraits in one import: "
                f"{counted(left, 'more image')} {'was' if left == 1 else 'were'} left out."
            )
            break
        try:
            png = stored_png(picture.read())
            digest = hashlib.sha256(png).hexdigest()
            if _already_there(character, digest, len(png)):
                result.duplicates += 1
                continue
            files = _files(png)
            if picture.card_picture and _is_cover(character, png, files):
                result.duplicates += 1
                continue
            _store(
                character,
                files,
                digest,
                newest - timedelta(milliseconds=position),
                prompt=f"Imported from {origin}",
                model=model,
                parameters={"size": f"{files.width}x{files.height}", "imported_from": origin[:255]}
                | ({} if picture.card_picture else {"asset": picture.label}),
            )
        except cardformat.CardError as error:  # over the CHARX limits, or a damaged entry
            result.skipped += 1
            result.note(f"Skipped {picture.label}: {error}")
            continue
        except Unusable as reason:
            result.skipped += 1
            result.note(f"Skipped {picture.label}: {reason}.")
            continue
        except (OSError, DatabaseError):
            logger.exception("Storing %s of %s as a portrait failed", picture.label, origin)
            result.skipped += 1
            result.note(f"Skipped {picture.label}: it could not be stored. Import the file again later.")
            continue
        result.imported += 1


def summary(name: str, status: str, pictures: int, result: PortraitImport) -> str:
    """What the import did, in a sentence or two: "Imported Ava with 20 portraits." """
    made = counted(result.imported, "portrait")
    if status == NEW:
        text = f"Imported {name} with {made}." if pictures else f"Imported {name}."
    elif status == UPDATE:
        text = f"Updated {name} and added {made}." if pictures else f"Updated {name}."
    else:
        text = (
            f"{name} was already up to date; {made} added." if pictures else f"{name} was already up to date."
        )
    if result.duplicates:
        verb = "was" if result.duplicates == 1 else "were"
        text += f" {counted(result.duplicates, 'image')} {verb} already among its portraits."
    if result.skipped:
        text += f" {counted(result.skipped, 'image')} could not be imported (below)."
    return text
