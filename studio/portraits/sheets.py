"""Character sheets: the newest sheet batch of a character, and one composed PNG of it."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from studio.characters.models import Character
from studio.portraits.files import IMAGE_DECODE_ERRORS
from studio.portraits.generation import SHEET_SHOTS, sheet_shot
from studio.portraits.models import Batch, Portrait

CELL = 320  # pixels per picture in the composed sheet: 4 x 2 cells, about 1.4 x 0.9 megapixels in all
GAP = 16
TITLE = 72
LABEL = 36
COLUMNS = 4


@dataclass(frozen=True)
class SheetCell:
    label: str
    portrait: Portrait | None


@dataclass(frozen=True)
class Sheet:
    batch: Batch
    cells: list[SheetCell]

    @property
    def painted(self) -> bool:
        return any(cell.portrait and cell.portrait.status == Portrait.Status.SUCCEEDED for cell in self.cells)


def _label(kind: str, value: str) -> str:
    return f"{value.replace('_', '-').capitalize()} view" if kind == "view" else value.capitalize()


def newest_sheet(character: Character) -> Sheet | None:
    batch = (
        Batch.objects.filter(character=character, kind=Batch.Kind.SHEET)
        .order_by("-created_at", "-id")
        .first()
    )
    if batch is None:
        return None
    portraits = list(batch.portraits.all())
    cells = []
    for kind, value, _words in SHEET_SHOTS:
        shot = sheet_shot(kind, value)
        match = next((p for p in portraits if p.parameters.get("shot") == shot), None)
        cells.append(SheetCell(_label(kind, value), match))
    return Sheet(batch, cells)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _picture(portrait: Portrait | None) -> Image.Image | None:
    if portrait is None or portrait.status != Portrait.Status.SUCCEEDED:
        return None
    file = portrait.thumbnail or portrait.image
    try:
        with file.open("rb") as handle, Image.open(handle) as image:
            image.draft("RGB", (CELL, CELL))
            picture = image.convert("RGB")
    except IMAGE_DECODE_ERRORS:
        return None
    picture.thumbnail((CELL, CELL), Image.Resampling.LANCZOS)
    return picture


def compose_png(character: Character, sheet: Sheet) -> bytes:
    """The sheet as one PNG: the character's name, then the views and the expressions, each labelled."""
    rows = [sheet.cells[:COLUMNS], sheet.cells[COLUMNS:]]
    width = COLUMNS * CELL + (COLUMNS + 1) * GAP
    height = TITLE + len(rows) * (CELL + LABEL + GAP) + GAP
    canvas = Image.new("RGB", (width, height), (248, 246, 241))
    draw = ImageDraw.Draw(canvas)
    draw.text((GAP, TITLE // 2), character.name[:60], fill=(33, 37, 41), font=_font(36), anchor="lm")
    label_font = _font(20)
    for row_index, row in enumerate(rows):
        top = TITLE + row_index * (CELL + LABEL + GAP)
        for column, cell in enumerate(row):
            left = GAP + column * (CELL + GAP)
            picture = _picture(cell.portrait)
            if picture is None:
                draw.rectangle((left, top, left + CELL - 1, top + CELL - 1), fill=(222, 226, 230))
                draw.text(
                    (left + CELL // 2, top + CELL // 2),
                    "not painted",
                    fill=(108, 117, 125),
                    font=label_font,
                    anchor="mm",
                )
            else:
                canvas.paste(
                    picture, (left + (CELL - picture.width) // 2, top + (CELL - picture.height) // 2)
                )
            draw.text(
                (left + CELL // 2, top + CELL + LABEL // 2),
                cell.label,
                fill=(33, 37, 41),
                font=label_font,
                anchor="mm",
            )
    buffer = io.BytesIO()
    canvas.save(buffer, "PNG", compress_level=6)
    return buffer.getvalue()
