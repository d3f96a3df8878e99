"""The offline local portrait painter: a stylised, deterministic portrait from vocabulary values.

Everything is drawn with Pillow polygons in normalised coordinates, so any size works and the same values and
seed always give the same PNG bytes. Head features are drawn in "head units" (1 = half the head's width).
The character's identity (face shape, features, build, palette) comes from an identity seed, the same for
every picture of one character; the picture's seed turns and tilts the head, picks the expression when none
is set, frames the shot and paints the background (see identity.py).

`sketch_png` is the live preview's fast path: one small canvas, no supersampling and no post-filters.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from PIL import Image, ImageFilter

from studio.characters import vocabulary as v

from .body import _back_props, _body, _body_props
from .canvas import _Brush, _Canvas, _Frame
from .clothing import _head_props, _hood
from .decorations import _background, _decorate
from .face import _brows, _ears, _eyes, _face_marks, _head, _mouth, _nose
from .filters import _ART_FILTERS, _impressionist, _light, _texture
from .hair import _facial_hair, _hair_back, _hair_front
from .identity import VIEWS, character_identity_seed
from .look import _Look, _resolve
from .prompt import PromptReading, read_prompt, values_from_prompt

__all__ = [
    "MAX_SIZE",
    "MIN_SIZE",
    "MODEL_NAME",
    "VIEWS",
    "PromptReading",
    "character_identity_seed",
    "face_box",
    "read_prompt",
    "render",
    "render_png",
    "sketch_png",
    "values_from_prompt",
]

MODEL_NAME = "painter-v1"


MIN_SIZE = 16
MAX_SIZE = 4096
SKETCH_SEED = 0

# --- public API ------------------------------------------------------------------------------------


def _frames(look: _Look, seed: int, size: int) -> tuple[_Frame, _Frame]:
    """Where the body and the head go: the camera, the lens and this picture's framing and tilt."""
    shot = look.shot
    scale, head_y = {
        "headshot": (1.3, 0.46),
        "half_body": (0.8, 0.36),
        "full_body": (0.62, 0.3),
        "low_angle": (1.0, 0.4),
        "high_angle": (1.0, 0.45),
    }.get(look.camera, (1.0, 0.42))
    if look.lens in ("wide", "macro"):
        scale *= 1.08
    if look.age == "child":
        scale *= 0.94
    unit = 0.16 * scale * size * shot.zoom
    centre_x, head_y = 0.5 + shot.dx, head_y + shot.dy
    # Seen from the side the body is narrower; its near shoulder leads the way the head turns.
    squash = {"three_quarter": 0.86, "profile": 0.62}.get(shot.view, 1.0)
    body_x = centre_x + (0.03 if look.pose == "over_shoulder" else 0.0) - shot.turn * 0.02
    body_frame = _Frame(size * body_x, size * head_y, unit, squash=squash)
    layout = random.Random(f"{seed}:layout")
    tilt = math.radians(shot.tilt)
    head_frame = _Frame(
        size * (centre_x + layout.uniform(-0.012, 0.012)),
        size * (head_y + layout.uniform(-0.008, 0.008)),
        unit,
        math.cos(tilt),
        math.sin(tilt),
    )
    return body_frame, head_frame


def face_box(
    values: Mapping[str, Any],
    seed: int,
    size: int = 1024,
    *,
    identity_seed: int | None = None,
    expression: str | None = None,
    view: str | None = None,
) -> tuple[int, int, int, int]:
    """The pixel box (left, top, right, bottom) around the face in that render: brows to chin, ear to ear.

    For cropping a face reference or comparing faces across framings.
    """
    look = _resolve(values, seed, identity_seed=identity_seed, expression=expression, view=view)
    _body_frame, head = _frames(look, seed, _check_size(size))
    reach = head.unit * 1.1
    return (
        round(head.ox - reach),
        round(head.oy - head.unit * 0.55),
        round(head.ox + reach),
        round(head.oy + head.unit * (look.face.head_h + 0.1)),
    )


def _paint(
    values: Mapping[str, Any],
    seed: int,
    size: int,
    detail: int,
    mode: str = "RGB",
    *,
    identity_seed: int | None = None,
    expression: str | None = None,
    view: str | None = None,
) -> tuple[Image.Image, _Look]:
    look = _resolve(values, seed, identity_seed=identity_seed, expression=expression, view=view)
    canvas = _background(look, size, mode)
    _decorate(_Brush(canvas, _Frame(0, 0, size), detail), look, random.Random(f"{seed}:scenery"))
    if look.lens in ("85mm", "telephoto") and not canvas.indexed:
        # Shallow depth of field: blur the scenery at half size; the supersampled canvas averages it back.
        small = canvas.image.reduce(2).filter(ImageFilter.GaussianBlur(size / 500))
        canvas = _Canvas(small.resize((size, size), Image.Resampling.NEAREST))

    body_frame, head_frame = _frames(look, seed, size)
    body, head = _Brush(canvas, body_frame, detail), _Brush(canvas, head_frame, detail)
    hair_rng = random.Random(f"{seed}:hair")

    _back_props(body, look)
    _hood(body, look)
    _hair_back(head, look, hair_rng)
    _body(body, look)
    _body_props(body, look)
    _ears(head, look)
    _head(head, look)
    _face_marks(head, look)
    _eyes(head, look)
    _brows(head, look)
    _nose(head, look)
    _facial_hair(head, look)
    _mouth(head, look)
    _hair_front(head, look, hair_rng)
    _head_props(head, look)
    return canvas.finish(), look


def _check_size(size: int) -> int:
    size = int(size)
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"Portrait size must be between {MIN_SIZE} and {MAX_SIZE} pixels, not {size}.")
    return size


def render(
    values: Mapping[str, Any],
    seed: int,
    size: int = 1024,
    *,
    identity_seed: int | None = None,
    expression: str | None = None,
    view: str | None = None,
) -> Image.Image:
    """A square RGB portrait; unknown or blank values fall back to defaults.

    The face and build come from identity_seed, or when it is None from the character itself
    (character_identity_seed: its "name" in values, if any, and the attributes that make a face); the seed
    varies the pose, the expression, the framing and the background. expression (a vocabulary key) and
    view (one of VIEWS: front, three_quarter, profile, back) ask for those, as a character sheet does.
    """
    size = _check_size(size)
    supersample = 2 if size <= 1024 else 1
    image, look = _paint(
        values,
        seed,
        size * supersample,
        detail=max(24, min(96, size // 8)),
        identity_seed=identity_seed,
        expression=expression,
        view=view,
    )
    if supersample > 1:
        image = image.reduce(supersample)
    image = _light(image, look)
    if look.art_style == "impressionist":
        image = _impressionist(image, seed)
    elif look.art_style in _ART_FILTERS:
        image = _ART_FILTERS[look.art_style](image)
    return _texture(image, look, seed)


def _png(image: Image.Image, compress_level: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=compress_level)
    return buffer.getvalue()


def render_png(
    values: Mapping[str, Any],
    seed: int,
    size: int = 1024,
    *,
    identity_seed: int | None = None,
    expression: str | None = None,
    view: str | None = None,
) -> bytes:
    image = render(values, seed, size, identity_seed=identity_seed, expression=expression, view=view)
    return _png(image, compress_level=6)


def _sketch_key(values: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    key = []
    for name in v.NAMES:
        raw = values.get(name)
        if isinstance(raw, (list, tuple, set, frozenset)):
            raw = tuple(sorted(item for item in raw if isinstance(item, str)))
        elif not isinstance(raw, str):
            raw = None
        key.append((name, raw))
    return tuple(key)


@lru_cache(maxsize=256)
def _sketch(key: tuple[tuple[str, Any], ...], size: int, identity_seed: int | None) -> bytes:
    image, _look = _paint(dict(key), SKETCH_SEED, size, detail=20, mode="P", identity_seed=identity_seed)
    return _png(image, compress_level=1)


def sketch_png(values: Mapping[str, Any], size: int = 256, *, identity_seed: int | None = None) -> bytes:
    """The live preview's instant sketch: one small palette canvas, no supersampling or filters.

    Cached by the appearance values, since the preview re-renders on every keystroke in any field.
    """
    if identity_seed is None and isinstance(values.get("name"), str):
        identity_seed = character_identity_seed(values)
    return _sketch(_sketch_key(values), _check_size(size), identity_seed)
