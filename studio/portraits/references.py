"""A character's look: its cover portrait and its reference set, and the references a job is made from.

A reference is a copy of one of the character's portraits or an uploaded image, stored as a PNG of at most
REFERENCE_SIDE pixels on its long side (so the worker sends it as it is), with a role (face, outfit, style,
pose) and a place in the order the user sets. When a portrait is queued the references its model takes are
chosen (faces first, then the user's order) and recorded on it by id and content hash; the worker loads
exactly those (see load_references).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import models, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from PIL import Image, ImageOps, UnidentifiedImageError

from studio.characters.models import Character
from studio.painter.identity import character_identity_seed
from studio.portraits.models import CharacterLook, Portrait, ReferenceImage
from studio.portraits.providers.base import Provider, ReferenceInput
from studio.portraits.references_prep import MAX_REFERENCE_BYTES, prepare_reference

REFERENCE_SIDE = 1024
ROLES = ReferenceImage.Role


class ReferenceError(ValueError):
    """A reference the studio cannot take; the message is for users."""


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def max_upload_bytes() -> int:
    return int(_setting("REFERENCE_MAX_UPLOAD_BYTES", _setting("LAB_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)))


# Images.


def reference_png(data: bytes, name: str) -> tuple[bytes, int, int]:
    """The image as an RGB PNG of at most REFERENCE_SIDE pixels on its long side, with its size; refuses
    what is too large, not an image, damaged, or a decompression bomb (ReferenceError)."""
    limit = max_upload_bytes()
    if len(data) > limit:
        raise ReferenceError(f"{name} is larger than {limit // (1024 * 1024)} MB.")
    max_pixels = int(_setting("LAB_MAX_IMAGE_PIXELS", 40_000_000))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise ReferenceError(
                        f"{name} is {width}×{height} pixels; the most the studio reads is {max_pixels:,}."
                    )
                # JPEG decodes straight at a reduced scale: a large photo never becomes a full-size bitmap.
                image.draft("RGB", (REFERENCE_SIDE, REFERENCE_SIDE))
                converted = ImageOps.exif_transpose(image).convert("RGB")
                if max(converted.size) > REFERENCE_SIDE:
                    converted.thumbnail((REFERENCE_SIDE, REFERENCE_SIDE), Image.Resampling.LANCZOS)
    except ReferenceError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ReferenceError(
            f"{name} is not an image the studio can read (PNG, JPEG, WebP or GIF)."
        ) from error
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        raise ReferenceError(f"{name} is damaged or truncated and could not be read.") from error
    buffer = io.BytesIO()
    converted.save(buffer, "PNG", compress_level=3)
    png = buffer.getvalue()
    if len(png) <= MAX_REFERENCE_BYTES:
        return png, converted.width, converted.height
    # A photograph: made smaller once, here, so that every job's references stay within one request's budget.
    png = prepare_reference(png, name=name).data
    with Image.open(io.BytesIO(png)) as fitted:
        return png, fitted.width, fitted.height


def _seed_from_hash(sha256: str) -> int:
    return int(sha256[:16], 16) >> 1


def portrait_painter_seed(portrait: Portrait) -> int | None:
    """The identity the offline painter gave this portrait's face, when it painted it; else None."""
    if portrait.provider != "local":
        return None
    sent = portrait.parameters.get("sent") or {}
    if isinstance(sent.get("identity_seed"), int):
        return sent["identity_seed"]
    attributes = portrait.parameters.get("attributes")
    return character_identity_seed(attributes) if isinstance(attributes, dict) else None


# The reference set.


def references_of(character: Character) -> list[ReferenceImage]:
    return list(ReferenceImage.objects.filter(character=character).select_related("portrait"))


def _store(character: Character, png: bytes, size: tuple[int, int], **fields: Any) -> ReferenceImage:
    with transaction.atomic():
        # Lock the character so two tabs cannot both take the last free place.
        Character.objects.select_for_update().filter(pk=character.pk).values_list("pk").first()
        existing = ReferenceImage.objects.filter(character=character)
        if existing.count() >= ReferenceImage.MAX_PER_CHARACTER:
            raise ReferenceError(
                f"{character.name} already has {ReferenceImage.MAX_PER_CHARACTER} references, the most a "
                "character keeps. Remove one first."
            )
        last = existing.aggregate(last=models.Max("position"))["last"]
        sha256 = hashlib.sha256(png).hexdigest()
        # A painter portrait keeps the face it was painted with; any other image gets one from its content.
        if fields.get("painter_seed") is None:
            fields["painter_seed"] = _seed_from_hash(sha256)
        reference = ReferenceImage(
            owner=character.owner,
            character=character,
            position=0 if last is None else last + 1,
            sha256=sha256,
            width=size[0],
            height=size[1],
            **fields,
        )
        reference.image.save("reference.png", ContentFile(png), save=False)
        try:
            reference.save()
        except Exception:
            reference.image.storage.delete(reference.image.name)
            raise
    return reference


def add_portrait_reference(portrait: Portrait, role: str = ROLES.FACE) -> ReferenceImage:
    """Copy one of a character's own succeeded portraits into its reference set."""
    if portrait.character_id is None:
        raise ReferenceError("Only a character's portrait can be one of its references.")
    if not portrait.image:
        raise ReferenceError("This portrait has no image yet; wait until it is painted.")
    if role not in ROLES.values:
        raise ReferenceError("Choose a role: face, outfit, style or pose.")
    if ReferenceImage.objects.filter(character_id=portrait.character_id, portrait=portrait).exists():
        raise ReferenceError(
            f"Portrait {portrait.pk} is already one of {portrait.character.name}'s references."
        )
    name = f"Portrait {portrait.pk}"
    try:
        with portrait.image.open("rb") as file:
            data = file.read(max_upload_bytes() + 1)
    except OSError:
        raise ReferenceError(f"{name}'s image file is missing from the studio's storage.") from None
    png, width, height = reference_png(data, name)
    return _store(
        portrait.character,
        png,
        (width, height),
        portrait=portrait,
        role=role,
        label=name,
        painter_seed=portrait_painter_seed(portrait),
    )


def add_upload_reference(character: Character, upload: Any, role: str = ROLES.FACE) -> ReferenceImage:
    """An uploaded image (a Django UploadedFile) as a reference; its size is checked before it is read."""
    if role not in ROLES.values:
        raise ReferenceError("Choose a role: face, outfit, style or pose.")
    name = "The uploaded file"
    limit = max_upload_bytes()
    if upload.size is not None and upload.size > limit:
        raise ReferenceError(f"{name} is larger than {limit // (1024 * 1024)} MB.")
    png, width, height = reference_png(upload.read(limit + 1), name)
    original = "".join(ch for ch in str(getattr(upload, "name", "") or "") if ch.isprintable())[:60]
    return _store(character, png, (width, height), role=role, label=f"Upload {original}".strip())


def set_role(reference: ReferenceImage, role: str) -> None:
    if role not in ROLES.values:
        raise ReferenceError("Choose a role: face, outfit, style or pose.")
    ReferenceImage.objects.filter(pk=reference.pk).update(role=role)
    reference.role = role


def move(reference: ReferenceImage, direction: str) -> bool:
    """Swap the reference with its neighbour before ("up") or after ("down"); False at either end."""
    with transaction.atomic():
        ordered = list(ReferenceImage.objects.select_for_update().filter(character_id=reference.character_id))
        index = next((i for i, item in enumerate(ordered) if item.pk == reference.pk), None)
        if index is None:
            return False
        other = index - 1 if direction == "up" else index + 1
        if not 0 <= other < len(ordered):
            return False
        ordered[index], ordered[other] = ordered[other], ordered[index]
        for position, item in enumerate(ordered):
            if item.position != position:
                ReferenceImage.objects.filter(pk=item.pk).update(position=position)
    return True


def remove(reference: ReferenceImage) -> None:
    """Remove it from the set; portraits made from it keep their record of it (id and hash)."""
    reference.delete()


# The cover.


def set_cover(portrait: Portrait) -> None:
    if portrait.character_id is None or portrait.status != Portrait.Status.SUCCEEDED:
        raise ReferenceError("Only a painted portrait of a character can be its cover.")
    CharacterLook.objects.update_or_create(character_id=portrait.character_id, defaults={"cover": portrait})


def _newest_succeeded() -> QuerySet[Portrait]:
    return Portrait.objects.filter(character_id=OuterRef("pk"), status=Portrait.Status.SUCCEEDED).order_by(
        "-created_at", "-id"
    )


def with_cover(characters: QuerySet[Character]) -> QuerySet[Character]:
    """The characters annotated with cover_id: the chosen cover, else their newest succeeded portrait.

    Two correlated subqueries on indexed columns, for list pages: cover_thumbnail_url(character) reads it."""
    chosen = CharacterLook.objects.filter(character_id=OuterRef("pk")).values("cover_id")[:1]
    newest = _newest_succeeded().values("pk")[:1]
    return characters.annotate(
        cover_id=Coalesce(Subquery(chosen), Subquery(newest), output_field=models.BigIntegerField())
    )


def cover_of(character: Character) -> Portrait | None:
    look = CharacterLook.objects.filter(character=character).select_related("cover").first()
    if look is not None and look.cover is not None:
        return look.cover
    return (
        Portrait.objects.filter(character=character, status=Portrait.Status.SUCCEEDED)
        .order_by("-created_at", "-id")
        .first()
    )


def chosen_cover_id(character: Character) -> int | None:
    return CharacterLook.objects.filter(character=character).values_list("cover_id", flat=True).first()


def cover_thumbnail_url(character: Character) -> str:
    """The cover's thumbnail URL ("" when the character has none). Uses the with_cover annotation when the
    character was loaded with it; otherwise one query."""
    if hasattr(character, "cover_id"):
        cover_id = character.cover_id
    else:
        cover = cover_of(character)
        cover_id = cover.pk if cover else None
    return reverse("studio:portrait_thumbnail", args=[cover_id]) if cover_id else ""


# What a job is made from.


def chosen_references(character: Character | None, limit: int) -> list[ReferenceImage]:
    """The references a job of `character` sends when its model takes `limit`: faces first, then the order
    the user set."""
    if character is None or limit <= 0:
        return []
    return chosen_references_from(list(ReferenceImage.objects.filter(character=character)), limit)


def reference_records(references: Sequence[ReferenceImage]) -> list[dict[str, Any]]:
    """What a portrait records of each reference it is made from (Portrait.references)."""
    return [
        {"id": reference.pk, "sha256": reference.sha256, "role": reference.role, "name": reference.label}
        for reference in references
    ]


def load_references(portrait: Portrait) -> tuple[tuple[ReferenceInput, ...], list[str]]:
    """The worker's references for a job: (what to send, the names of recorded ones that are gone).

    Only the portrait owner's references with the recorded content hash are sent; one removed since the job
    was queued (or, never, changed) is left out and named."""
    records = [record for record in portrait.references or [] if isinstance(record, dict)]
    if not records:
        return (), []
    found = {
        reference.pk: reference
        for reference in ReferenceImage.objects.filter(
            owner_id=portrait.owner_id, pk__in=[record.get("id") for record in records]
        )
    }
    inputs, missing = [], []
    for record in records:
        reference = found.get(record.get("id"))
        if reference is None or reference.sha256 != record.get("sha256"):
            missing.append(str(record.get("name") or "a reference"))
            continue
        try:
            with reference.image.open("rb") as file:
                data = file.read()
        except OSError:
            missing.append(reference.label)
            continue
        if max(reference.width, reference.height) > REFERENCE_SIDE:  # stored before the limit was lowered
            data = reference_png(data, reference.label)[0]
        inputs.append(
            ReferenceInput(
                data=data,
                role=record.get("role") or reference.role,
                name=reference.label,
                sha256=reference.sha256,
                painter_seed=reference.painter_seed,
            )
        )
    return tuple(inputs), missing


def lineage(portrait: Portrait) -> list[dict[str, Any]]:
    """The references a portrait was made from, for its page: each record with its stored image's thumbnail
    URL when the reference still exists unchanged, and the portrait it was copied from."""
    records = [record for record in portrait.references or [] if isinstance(record, dict)]
    if not records:
        return []
    found = {
        reference.pk: reference
        for reference in ReferenceImage.objects.filter(
            owner_id=portrait.owner_id, pk__in=[record.get("id") for record in records]
        )
    }
    rows = []
    for record in records:
        reference = found.get(record.get("id"))
        current = reference is not None and reference.sha256 == record.get("sha256")
        rows.append(
            {
                **record,
                "image_url": reverse("studio:reference_image", args=[reference.pk]) if current else "",
                "portrait_url": (
                    reverse("studio:portrait_detail", args=[reference.portrait_id])
                    if current and reference.portrait_id
                    else ""
                ),
                "short_hash": str(record.get("sha256", ""))[:12],
            }
        )
    return rows


def describe(backend: Provider | None, model: str, references: Sequence[ReferenceImage]) -> str:
    """What the generator says about the references the chosen provider and model will use."""
    if backend is None or not references:
        return ""
    limit = backend.model_options(model or backend.default_model).max_references
    if limit <= 0:
        return f"{backend.label} does not take reference images: it paints from the prompt alone."
    chosen = chosen_references_from(references, limit)
    if limit == 1:
        role = chosen[0].role
        if backend.name == "local" and role != ROLES.FACE:
            return f"{backend.label} keeps only a face reference; this one paints the character's own face."
        return f"{backend.label} uses one reference: the first {role} reference."
    roles = list(dict.fromkeys(reference.role for reference in chosen))
    count = len(chosen)
    return f"Keeps the look: {count} reference{'s' if count != 1 else ''} ({', '.join(roles)})."


def chosen_references_from(references: Sequence[ReferenceImage], limit: int) -> list[ReferenceImage]:
    ordered = sorted(references, key=lambda reference: (reference.position, reference.pk))
    ordered.sort(key=lambda reference: reference.role != ROLES.FACE)
    return ordered[:limit]
