"""The offline local portrait painter: a stylised, deterministic portrait from vocabulary values.

Everything is drawn with Pillow polygons in normalised coordinates, so any size works and the same values and
seed always give the same PNG bytes. Head features are drawn in "head units" (1 = half the head's width) in a
frame that the seed tilts and nudges a little; the background and its decoration also come from the seed.

`sketch_png` is the live preview's fast path: one small canvas, no supersampling and no post-filters.
"""

from __future__ import annotations

import io
import math
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter, ImageOps

from . import vocabulary as v

MODEL_NAME = "painter-v1"

RGB = tuple[int, int, int]
Point = tuple[float, float]

MIN_SIZE = 16
MAX_SIZE = 4096
SKETCH_SEED = 0

_INK: RGB = (34, 30, 34)
_WHITE: RGB = (250, 248, 244)
_GOLD: RGB = (212, 170, 60)
_SILVER: RGB = (196, 200, 208)
_MOUTH: RGB = (120, 36, 44)
_DEFAULT_HAIR: RGB = (110, 72, 42)
_GREY_HAIR: RGB = (196, 196, 196)


# --- colour helpers --------------------------------------------------------------------------------


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def _shade(colour: RGB, factor: float) -> RGB:
    return (
        min(255, round(colour[0] * factor)),
        min(255, round(colour[1] * factor)),
        min(255, round(colour[2] * factor)),
    )


def _lighten(colour: RGB, t: float) -> RGB:
    return _mix(colour, (255, 255, 255), t)


def _jitter(colour: RGB, rng: random.Random, amount: int = 5) -> RGB:
    return tuple(max(0, min(255, c + rng.randint(-amount, amount))) for c in colour)  # type: ignore[return-value]


def _distance(a: RGB, b: RGB) -> int:
    return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2


def _luma(colour: RGB) -> float:
    return 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]


# --- reading the values ----------------------------------------------------------------------------


def _key(values: Mapping[str, Any], attribute: v.Attribute, default: str = "") -> str:
    raw = values.get(attribute.name)
    if isinstance(raw, (list, tuple)):
        raw = raw[0] if raw else ""
    return raw if isinstance(raw, str) and attribute.get(raw) else default


def _keys(values: Mapping[str, Any], attribute: v.Attribute) -> frozenset[str]:
    raw = values.get(attribute.name)
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, Iterable):
        return frozenset()
    return frozenset(item for item in raw if isinstance(item, str) and attribute.get(item))


def _rgb(attribute: v.Attribute, key: str) -> RGB:
    choice = attribute.get(key)
    assert choice is not None and choice.rgb is not None
    return choice.rgb


@dataclass(frozen=True)
class _Look:
    """The values resolved to keys and colours, with every default filled in."""

    gender: str
    age: str
    ethnicity: str
    skin: RGB
    eyes: tuple[RGB, RGB]
    hair: RGB
    hair_style: str
    facial_hair: str
    body_type: str
    clothing: str
    clothes: RGB
    clothing_style: str
    accessories: frozenset[str]
    expression: str
    pose: str
    art_style: str
    texture: str
    palette: tuple[RGB, ...]
    palette_keys: frozenset[str]
    contrast: str
    shading: str
    lighting: str
    background: str
    background_rgb: RGB
    camera: str
    lens: str


def _resolve(values: Mapping[str, Any], rng: random.Random) -> _Look:
    gender = _key(values, v.GENDER)
    age = _key(values, v.AGE, "young_adult")
    ethnicity = _key(values, v.ETHNICITY)
    fantasy_skin = {"orc": "green", "elf": "fair"}.get(ethnicity, "light")
    skin = _jitter(_rgb(v.SKIN_TONE, _key(values, v.SKIN_TONE, fantasy_skin)), rng, 4)

    eye_key = _key(values, v.EYE_COLOR, "brown")
    if eye_key == "heterochromia":
        eyes = (_rgb(v.EYE_COLOR, "blue"), _rgb(v.EYE_COLOR, "brown"))
    else:
        eyes = (_rgb(v.EYE_COLOR, eye_key),) * 2

    hair_key = _key(values, v.HAIR_COLOR)
    hair = _jitter(_rgb(v.HAIR_COLOR, hair_key), rng, 4) if hair_key else _DEFAULT_HAIR
    greying = {"middle_aged": 0.2, "elderly": 0.35 if hair_key else 0.7}.get(age, 0.0)
    hair = _mix(hair, _GREY_HAIR, greying)
    default_style = {"female": "long", "male": "short"}.get(gender, "medium")

    facial_hair = _key(values, v.FACIAL_HAIR, "none")
    if age == "child":
        facial_hair = "none"

    palette_keys = _keys(values, v.DOMINANT_COLORS)
    palette = tuple(
        choice.rgb for choice in v.DOMINANT_COLORS.choices if choice.key in palette_keys and choice.rgb
    )
    background = _key(values, v.BACKGROUND, "gradient")
    return _Look(
        gender=gender,
        age=age,
        ethnicity=ethnicity,
        skin=skin,
        eyes=eyes,
        hair=hair,
        hair_style=_key(values, v.HAIR_STYLE, default_style),
        facial_hair=facial_hair,
        body_type=_key(values, v.BODY_TYPE, "average"),
        clothing=_key(values, v.CLOTHING, "tshirt_jeans"),
        clothes=_jitter(_rgb(v.CLOTHING_COLOR, _key(values, v.CLOTHING_COLOR, "navy")), rng, 4),
        clothing_style=_key(values, v.CLOTHING_STYLE),
        accessories=_keys(values, v.ACCESSORIES),
        expression=_key(values, v.EXPRESSION, "neutral"),
        pose=_key(values, v.POSE, "front"),
        art_style=_key(values, v.ART_STYLE),
        texture=_key(values, v.TEXTURE),
        palette=palette,
        palette_keys=palette_keys,
        contrast=_key(values, v.CONTRAST),
        shading=_key(values, v.SHADING),
        lighting=_key(values, v.LIGHTING),
        background=background,
        background_rgb=_jitter(_rgb(v.BACKGROUND, background), rng, 3),
        camera=_key(values, v.CAMERA, "bust"),
        lens=_key(values, v.LENS),
    )


def _accent(look: _Look, fallback: RGB) -> RGB:
    """A detail colour (hat, scarf, tie) that follows the dominant colours when there are any."""
    for colour in look.palette:
        if abs(_luma(colour) - _luma(look.clothes)) > 40:
            return colour
    return fallback


# --- drawing in normalised frames ------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    ox: float
    oy: float
    unit: float
    cos: float = 1.0
    sin: float = 0.0

    def map(self, points: Iterable[Point]) -> list[Point]:
        ox, oy, u, c, s = self.ox, self.oy, self.unit, self.cos, self.sin
        return [(ox + u * (x * c - y * s), oy + u * (x * s + y * c)) for x, y in points]


@lru_cache(maxsize=32)
def _unit_arc(a0: float, a1: float, count: int) -> tuple[Point, ...]:
    step = (a1 - a0) / count
    return tuple(
        (math.cos(math.radians(a0 + i * step)), math.sin(math.radians(a0 + i * step)))
        for i in range(count + 1)
    )


def _arc(
    cx: float, cy: float, rx: float, ry: float, a0: float = 0, a1: float = 360, count: int = 12
) -> list[Point]:
    """Points along an ellipse; angles in degrees, 0 = right, 90 = down."""
    return [(cx + rx * x, cy + ry * y) for x, y in _unit_arc(a0, a1, count)]


def _mirror(points: Sequence[Point]) -> list[Point]:
    return [(-x, y) for x, y in reversed(points)]


class _Canvas:
    """An image to draw on. In "P" mode it keeps its own palette: Pillow's per-colour allocation is slow."""

    def __init__(self, image: Image.Image) -> None:
        self.image = image
        self.draw = ImageDraw.Draw(image)
        self.indexed = image.mode == "P"
        self.palette: dict[RGB, int] = {}
        self.overflow: dict[RGB, int] = {}

    def ink(self, colour: RGB) -> RGB | int:
        if not self.indexed:
            return colour
        index = self.palette.get(colour)
        if index is None:
            if len(self.palette) < 256:
                index = self.palette[colour] = len(self.palette)
            else:  # full: the nearest colour already in use
                index = self.overflow.get(colour)
                if index is None:
                    nearest = min(self.palette, key=lambda c: _distance(c, colour))
                    index = self.overflow[colour] = self.palette[nearest]
        return index

    def finish(self) -> Image.Image:
        if self.indexed:
            self.image.putpalette([channel for colour in self.palette for channel in colour])
        return self.image


class _Brush:
    def __init__(self, canvas: _Canvas, frame: _Frame, detail: int) -> None:
        self.canvas = canvas
        self.draw = canvas.draw
        self.ink = canvas.ink
        self.frame = frame
        self.detail = detail  # segments in a full circle
        self.edge = max(1, round(frame.unit * 0.028))

    def _count(self, a0: float, a1: float) -> int:
        return max(3, round(self.detail * abs(a1 - a0) / 360))

    def arc(self, cx: float, cy: float, rx: float, ry: float, a0: float = 0, a1: float = 360) -> list[Point]:
        return _arc(cx, cy, rx, ry, a0, a1, self._count(a0, a1))

    def poly(self, points: Sequence[Point], fill: RGB, edge: bool | RGB = True) -> None:
        outline = _shade(fill, 0.62) if edge is True else (edge or None)
        self.draw.polygon(
            self.frame.map(points),
            fill=self.ink(fill),
            outline=self.ink(outline) if outline else None,
            width=self.edge if outline else 0,
        )

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, fill: RGB, edge: bool | RGB = True) -> None:
        self.poly(self.arc(cx, cy, rx, ry)[:-1], fill, edge)

    def line(self, points: Sequence[Point], colour: RGB, width: float = 0.05) -> None:
        pixels = max(1, round(width * self.frame.unit))
        self.draw.line(
            self.frame.map(points), fill=self.ink(colour), width=pixels, joint="curve" if pixels > 2 else None
        )

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill: RGB, outline: RGB | None = None) -> None:
        """An upright rectangle; only for frames without rotation (the scenery)."""
        (px0, py0), (px1, py1) = self.frame.map(((x0, y0), (x1, y1)))
        self.draw.rectangle(
            (px0, py0, px1, py1), fill=self.ink(fill), outline=self.ink(outline) if outline else None
        )

    def dots(self, points: Iterable[Point], radius: float, colour: RGB) -> None:
        r = max(0.5, radius * self.frame.unit)
        ink = self.ink(colour)
        for x, y in self.frame.map(points):
            self.draw.ellipse((x - r, y - r, x + r, y + r), fill=ink)


# --- background ------------------------------------------------------------------------------------


def _gradient(look: _Look) -> tuple[RGB, RGB]:
    top = look.background_rgb
    if look.palette:
        tint = tuple(sum(c[i] for c in look.palette) // len(look.palette) for i in range(3))
        top = _mix(top, tint, 0.3)  # type: ignore[arg-type]
    bottom = {
        "plain": _shade(top, 0.92),
        "none": top,
        "gradient": _mix(top, (96, 70, 150), 0.55),
        "space": _mix(top, (40, 20, 70), 0.6),
        "night_city": _mix(top, (90, 20, 90), 0.5),
        "beach": (226, 204, 150),
        "desert": _shade(top, 0.8),
    }.get(look.background, _shade(top, 0.7))
    return top, bottom


def _background(look: _Look, size: int, mode: str) -> _Canvas:
    top, bottom = _gradient(look)
    if mode == "P":
        # A palette image keeps the sketch's PNG encoding cheap (no filters); the gradient becomes bands.
        canvas = _Canvas(Image.new("P", (size, size), 0))
        bands = 1 if top == bottom else 12
        for band in range(bands):
            colour = _mix(top, bottom, band / max(1, bands - 1))
            canvas.draw.rectangle((0, size * band // bands, size, size), fill=canvas.ink(colour))
        return canvas
    if top == bottom:
        return _Canvas(Image.new(mode, (size, size), top))
    # One column of the gradient, stretched sideways: far cheaper than compositing full-size images.
    t = np.linspace(0.0, 1.0, size, dtype=np.float32)[:, None]
    column = np.rint(np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t)
    strip = Image.fromarray(column.astype(np.uint8)[:, None, :])
    return _Canvas(strip.resize((size, size), Image.Resampling.NEAREST))


def _decorate(brush: _Brush, look: _Look, rng: random.Random) -> None:
    """Seed-driven scenery in image units (0..1); keeps clear of the top-left corner."""
    bg = look.background_rgb
    accents = look.palette or ((240, 200, 90), (90, 200, 230), (230, 110, 160))
    kind = look.background
    if kind == "space":
        for _ in range(rng.randint(50, 90)):
            x, y = rng.random(), rng.random()
            if x + y > 0.12:
                brush.dots(
                    [(x, y)],
                    rng.choice((0.002, 0.003, 0.005)),
                    _mix((255, 255, 240), rng.choice(accents), 0.2),
                )
        px, py, pr = rng.uniform(0.72, 0.9), rng.uniform(0.12, 0.3), rng.uniform(0.05, 0.09)
        brush.ellipse(px, py, pr, pr, _mix(rng.choice(accents), bg, 0.3))
        brush.line(brush.arc(px, py, pr * 1.8, pr * 0.4, 160, 380), _lighten(rng.choice(accents), 0.4), 0.006)
    elif kind == "forest":
        for layer, shade in ((0, 0.8), (1, 0.6)):
            for _ in range(rng.randint(6, 9)):
                x, top = rng.uniform(-0.05, 1.05), rng.uniform(0.22, 0.5) + layer * 0.12
                w = rng.uniform(0.06, 0.1)
                colour = _jitter(_shade(bg, shade), rng, 8)
                brush.poly([(x, top), (x + w, 1.0), (x - w, 1.0)], colour, edge=False)
                brush.poly(
                    [(x - 0.012, 0.9), (x + 0.012, 0.9), (x + 0.012, 1.0), (x - 0.012, 1.0)],
                    (70, 50, 36),
                    False,
                )
    elif kind in ("city", "night_city"):
        night = kind == "night_city"
        x = rng.uniform(0.1, 0.2)
        while x < 1.0:
            w, top = rng.uniform(0.08, 0.16), rng.uniform(0.3, 0.62)
            body = _jitter(_shade(bg, 0.75 if night else 0.85), rng, 10)
            brush.rect(x, top, x + w, 1.0, body)
            lit = [rng.choice(accents) if night else (236, 214, 150), _shade(body, 0.7)]
            for wy in range(int((1 - top) / 0.05)):
                for wx in range(int(w / 0.035)):
                    colour = lit[0] if rng.random() < (0.35 if night else 0.5) else lit[1]
                    px, py = x + 0.012 + wx * 0.035, top + 0.02 + wy * 0.05
                    brush.rect(px, py, px + 0.015, py + 0.022, colour)
            x += w + rng.uniform(0.0, 0.03)
        if night:
            brush.ellipse(rng.uniform(0.7, 0.9), 0.12, 0.04, 0.04, (236, 232, 210), False)
    elif kind == "castle":
        stone = _shade(bg, 0.82)
        for row in range(1, 14):
            y = row * 0.075
            brush.line([(0.15 if row < 3 else 0.0, y), (1.0, y)], stone, 0.004)
            offset = 0.06 if row % 2 else 0.0
            for col in range(9):
                bx = offset + col * 0.12
                if bx > 0.12 or row > 2:
                    brush.line([(bx, y), (bx, y + 0.075)], stone, 0.004)
        ax = rng.choice((0.16, 0.84))
        brush.poly(
            [*brush.arc(ax, 0.32, 0.07, 0.08, 180, 360), (ax + 0.07, 0.55), (ax - 0.07, 0.55)], (60, 60, 80)
        )
        brush.poly(
            [
                (1 - ax - 0.05, 0.18),
                (1 - ax + 0.05, 0.18),
                (1 - ax + 0.05, 0.42),
                (1 - ax, 0.38),
                (1 - ax - 0.05, 0.42),
            ],
            rng.choice(((150, 30, 40), (40, 60, 130), (30, 100, 60))),
        )
    elif kind == "beach":
        sun_x = rng.uniform(0.65, 0.9)
        brush.ellipse(sun_x, rng.uniform(0.12, 0.22), 0.06, 0.06, (255, 236, 150), False)
        brush.poly([(0, 0.58), (1, 0.58), (1, 0.74), (0, 0.74)], (40, 110, 170), False)
        for _ in range(6):
            wx, wy = rng.random(), rng.uniform(0.6, 0.72)
            brush.line([(wx, wy), (wx + 0.05, wy)], (200, 230, 245), 0.004)
        for _ in range(rng.randint(2, 4)):
            gx, gy = rng.uniform(0.3, 0.9), rng.uniform(0.1, 0.3)
            brush.line([(gx - 0.02, gy - 0.01), (gx, gy), (gx + 0.02, gy - 0.01)], (60, 60, 70), 0.004)
    elif kind == "mountains":
        for shade, base, snow in ((0.8, 0.55, True), (0.62, 0.72, False)):
            x = rng.uniform(-0.3, -0.1)
            while x < 1.1:
                w, peak = rng.uniform(0.25, 0.4), base - rng.uniform(0.1, 0.25)
                colour = _jitter(_shade(bg, shade), rng, 6)
                brush.poly([(x, 1.0), (x + w / 2, peak), (x + w, 1.0)], colour, False)
                if snow:
                    brush.poly(
                        [(x + w / 2, peak), (x + w * 0.38, peak + 0.06), (x + w * 0.62, peak + 0.06)],
                        (240, 244, 248),
                        False,
                    )
                x += w * rng.uniform(0.6, 0.9)
    elif kind == "library":
        spines = [
            _mix(base, accent, 0.25)
            for base in ((120, 40, 40), (40, 70, 110), (50, 90, 60), (150, 120, 60))
            for accent in accents[:2]
        ]
        for shelf in range(4):
            y = 0.22 + shelf * 0.22
            brush.poly([(0, y), (1, y), (1, y + 0.025), (0, y + 0.025)], _shade(bg, 0.7), False)
            x = 0.14 if shelf == 0 else 0.0
            while x < 1.0:
                w, h = rng.uniform(0.02, 0.04), rng.uniform(0.12, 0.18)
                colour = rng.choice(spines)
                brush.rect(x, y - h, x + w, y, colour, _shade(colour, 0.6))
                x += w + 0.002
    elif kind == "desert":
        sun_x = rng.uniform(0.7, 0.9)
        brush.ellipse(sun_x, rng.uniform(0.12, 0.2), 0.07, 0.07, (255, 240, 200), False)
        for i in range(3):
            cx = rng.uniform(0.1, 0.9)
            brush.ellipse(cx, 0.78 + i * 0.08, 0.6, 0.12, _jitter(_shade(bg, 0.9 - i * 0.06), rng, 6), False)
        cx = rng.choice((0.12, 0.88))
        cactus = (70, 120, 70)
        brush.line([(cx, 0.9), (cx, 0.62)], cactus, 0.03)
        brush.line([(cx - 0.04, 0.7), (cx - 0.04, 0.76), (cx, 0.78)], cactus, 0.018)
    elif kind == "studio":
        for i in range(4):
            r = 0.45 - i * 0.08
            brush.ellipse(0.5, 0.42, r, r, _mix(bg, (255, 255, 255), 0.06 * (i + 1)), False)
    elif kind == "gradient":
        for _ in range(rng.randint(5, 9)):
            x, y, r = rng.uniform(0.05, 0.95), rng.uniform(0.1, 0.95), rng.uniform(0.02, 0.07)
            if x + y > 0.25:
                brush.ellipse(x, y, r, r, _mix(_shade(bg, 0.9), rng.choice(accents), 0.25), False)
    if look.pose == "action":
        for _ in range(6):
            y = rng.uniform(0.3, 0.9)
            x = rng.choice((rng.uniform(0.0, 0.1), rng.uniform(0.78, 0.88)))
            brush.line([(x, y), (x + 0.12, y - 0.03)], _lighten(bg, 0.5), 0.004)


# --- the figure ------------------------------------------------------------------------------------

_SHOULDERS = {
    "slim": 0.86,
    "athletic": 1.06,
    "average": 1.0,
    "muscular": 1.2,
    "stocky": 1.12,
    "curvy": 0.96,
    "heavyset": 1.18,
    "tall_lanky": 0.82,
}
_FEATURE_SHIFT = {"three_quarter": 0.14, "profile": 0.26, "over_shoulder": 0.16}


def _back_props(brush: _Brush, look: _Look) -> None:
    if look.pose == "sitting":  # a high-backed chair behind the shoulders
        wood = (96, 62, 38)
        brush.poly([*brush.arc(0, 1.6, 2.1, 1.2, 180, 360), (2.1, 5.0), (-2.1, 5.0)], wood)
        brush.poly([*brush.arc(0, 1.7, 1.8, 0.95, 180, 360), (1.8, 5.0), (-1.8, 5.0)], (150, 40, 50))
    if "staff" in look.accessories:
        brush.line([(2.7, -1.6), (2.75, 5.0)], (110, 76, 44), 0.16)
        brush.ellipse(2.7, -1.8, 0.3, 0.3, (120, 200, 240))
        brush.ellipse(2.64, -1.86, 0.1, 0.1, (230, 250, 255), False)
    if "sword" in look.accessories:
        brush.line([(-2.1, 0.2), (-0.6, 3.4)], _SILVER, 0.16)
        brush.line([(-2.1, 0.2), (-1.65, 1.15)], (70, 44, 30), 0.13)
        brush.line([(-1.95, 1.4), (-1.35, 1.1)], _GOLD, 0.1)
        brush.ellipse(-2.14, 0.12, 0.1, 0.1, _GOLD)


def _hood(brush: _Brush, look: _Look) -> None:
    if look.clothing in ("hoodie", "cloak"):
        hood = _shade(look.clothes, 0.78)
        brush.poly([*brush.arc(0, 0.1, 1.6, 1.75, 180, 360), (1.7, 2.4), (-1.7, 2.4)], hood)


def _body(brush: _Brush, look: _Look) -> None:
    skin, cc = look.skin, look.clothes
    w = 2.35 * _SHOULDERS[look.body_type] * (0.92 if look.gender == "female" else 1.0)
    w *= 0.82 if look.age == "child" else 1.0
    neck = 0.46 if look.body_type in ("muscular", "stocky", "heavyset") else 0.38
    if look.clothing == "cloak":
        w *= 1.12
    brush.poly([(-neck, 0.9), (neck, 0.9), (neck + 0.05, 2.4), (-neck - 0.05, 2.4)], skin)
    brush.ellipse(0, 1.28, neck, 0.14, _shade(skin, 0.86), False)
    torso_top = 2.05
    shoulder = [(-0.5, torso_top), (-1.3, 2.15), (-w + 0.35, 2.3), (-w, 2.75), (-w - 0.08, 5.0)]
    right = _mirror(shoulder)
    clothing = look.clothing
    if clothing == "dress":
        brush.poly([*shoulder[1:], *right[:-1]], skin)
        neckline = [
            (w - 0.35, 2.9),
            (0.9, 2.75),
            *brush.arc(0.45, 2.8, 0.45, 0.3, 0, 180),
            *brush.arc(-0.45, 2.8, 0.45, 0.3, 0, 180),
            (-0.9, 2.75),
            (-w + 0.35, 2.9),
        ]
        brush.poly([*neckline, (-w - 0.08, 5.0), (w + 0.08, 5.0)], cc)
        for side in (-1, 1):
            brush.line([(side * 0.9, 2.78), (side * 1.05, 2.15)], cc, 0.09)
        return
    neck_dip = {"shirt": 2.8, "suit": 2.8, "robes": 2.9, "leather_jacket": 2.7, "lab_coat": 2.8}.get(
        clothing, 2.35
    )
    brush.poly([*shoulder, *right, *brush.arc(0, torso_top, 0.5, neck_dip - torso_top, 0, 180)[1:-1]], cc)
    dark, light = _shade(cc, 0.7), _mix(cc, _WHITE, 0.25)
    if clothing == "tshirt_jeans":
        brush.line(brush.arc(0, torso_top, 0.52, 0.34, 0, 180), dark, 0.07)
        for side in (-1, 1):
            brush.line([(side * (w - 0.45), 2.4), (side * (w - 0.25), 3.4)], dark, 0.03)
    elif clothing == "shirt":
        for side in (-1, 1):
            brush.poly(
                [(side * 0.5, 2.0), (side * 0.05, 2.8), (side * 0.75, 2.65), (side * 0.7, 2.15)], light
            )
        brush.dots([(0, 3.0 + i * 0.45) for i in range(4)], 0.05, dark)
    elif clothing in ("suit", "lab_coat"):
        inner = _WHITE if clothing == "suit" else (160, 190, 220)
        brush.poly([(-0.5, 2.05), (0.5, 2.05), (0, 3.5)], inner)
        if clothing == "suit":
            tie = _accent(look, (150, 30, 40))
            brush.poly([(-0.12, 2.2), (0.12, 2.2), (0.18, 3.1), (0, 3.4), (-0.18, 3.1)], tie)
        lapel = dark if clothing == "suit" else _shade(cc, 0.88)
        for side in (-1, 1):
            brush.poly(
                [
                    (side * 0.5, 2.02),
                    (side * 0.02, 3.5),
                    (side * 0.55, 3.0),
                    (side * 0.95, 2.45),
                    (side * 0.8, 2.15),
                ],
                lapel,
            )
        if clothing == "lab_coat":
            brush.poly([(1.0, 3.05), (1.6, 3.05), (1.6, 3.7), (1.0, 3.7)], cc)
            brush.line([(1.2, 2.8), (1.2, 3.25)], (40, 60, 160), 0.06)
        else:
            brush.dots([(0.06, 3.55)], 0.06, _INK)
    elif clothing == "hoodie":
        brush.line(brush.arc(0, torso_top, 0.55, 0.4, 0, 180), dark, 0.1)
        for side in (-1, 1):
            brush.line([(side * 0.3, 2.4), (side * 0.34, 3.3)], _lighten(cc, 0.5), 0.05)
        brush.poly([(-1.0, 3.3), (1.0, 3.3), (1.3, 5.0), (-1.3, 5.0)], _shade(cc, 0.9))
    elif clothing == "leather_jacket":
        brush.poly([(-0.55, 2.05), (0.55, 2.05), (0.4, 5.0), (-0.4, 5.0)], (44, 44, 48))
        for side in (-1, 1):
            brush.poly([(side * 0.55, 2.02), (side * 0.4, 3.3), (side * 1.15, 2.75), (side * 1.1, 2.2)], dark)
        brush.line([(0.42, 3.3), (0.38, 5.0)], _SILVER, 0.04)
        brush.line([(-w + 0.5, 3.0), (-w + 0.7, 4.0)], _lighten(cc, 0.35), 0.05)
    elif clothing == "armor":
        for side in (-1, 1):
            brush.ellipse(side * (w - 0.4), 2.55, 0.8, 0.5, light)
            brush.ellipse(side * (w - 0.35), 3.05, 0.62, 0.35, _shade(light, 0.9))
        brush.poly([(-0.9, 2.7), (0.9, 2.7), (1.1, 4.0), (0, 4.6), (-1.1, 4.0)], _mix(cc, _WHITE, 0.12))
        brush.line([(0, 2.75), (0, 4.5)], dark, 0.04)
        brush.ellipse(0, 2.1, 0.7, 0.18, dark)
        brush.dots([(side * (w - 0.4), 2.3) for side in (-1, 1)], 0.06, _SILVER)
    elif clothing in ("robes", "kimono"):
        trim = _GOLD if clothing == "robes" else _accent(look, _WHITE)
        brush.poly([(-0.5, 2.05), (0.5, 2.05), (0.05, 3.0)], _shade(cc, 0.6) if clothing == "robes" else skin)
        brush.line([(-0.55, 2.0), (0.35, 3.6), (0.4, 5.0)], trim, 0.16)
        brush.line([(0.55, 2.0), (0.05, 2.95)], trim, 0.16)
        if clothing == "kimono":
            brush.poly([(-w, 3.3), (w, 3.3), (w, 3.65), (-w, 3.65)], _accent(look, (190, 60, 60)))
        else:
            for side in (-1, 1):
                brush.line([(side * (w - 0.4), 2.9), (side * (w - 0.2), 4.8)], dark, 0.04)
    elif clothing == "uniform":
        brush.poly([(-0.5, 1.85), (0.5, 1.85), (0.55, 2.25), (-0.55, 2.25)], dark)
        for side in (-1, 1):
            brush.poly(
                [
                    (side * (w - 0.95), 2.25),
                    (side * (w - 0.25), 2.4),
                    (side * (w - 0.3), 2.6),
                    (side * (w - 0.95), 2.45),
                ],
                _GOLD,
            )
            brush.dots([(side * 0.35, 2.7 + i * 0.5) for i in range(4)], 0.06, _GOLD)
        brush.poly([(-1.25, 2.9), (-0.75, 2.9), (-0.75, 3.15), (-1.25, 3.15)], (180, 40, 40))
    elif clothing == "cloak":
        for side in (-1, 1):
            brush.line([(side * 1.2, 2.6), (side * 1.5, 5.0)], dark, 0.05)
        brush.ellipse(0, 2.3, 0.18, 0.18, _GOLD)
    elif clothing == "sweater":
        brush.poly([*brush.arc(0, 2.0, 0.58, 0.25, 180, 360), *brush.arc(0, 2.0, 0.58, 0.38, 0, 180)], dark)
        for i in range(-5, 6):
            brush.line([(i * 0.38, 2.8), (i * 0.38, 5.0)], _shade(cc, 0.85), 0.05)
    elif clothing == "spacesuit":
        brush.poly([*brush.arc(0, 2.1, 0.85, 0.3, 180, 360), *brush.arc(0, 2.1, 0.85, 0.42, 0, 180)], _SILVER)
        brush.poly([(-0.7, 3.0), (0.7, 3.0), (0.7, 3.9), (-0.7, 3.9)], (50, 56, 70))
        brush.dots([(-0.4, 3.3), (0.0, 3.3), (0.4, 3.3)], 0.08, (220, 60, 60))
        brush.dots([(-0.2, 3.6), (0.2, 3.6)], 0.07, (80, 220, 120))


def _body_props(brush: _Brush, look: _Look) -> None:
    acc = look.accessories
    if "tattoos" in acc:
        ink = (40, 70, 84)
        brush.line([(0.1, 1.4), (0.3, 1.6), (0.12, 1.8), (0.32, 2.0)], ink, 0.05)
        brush.line([(-0.3, 1.5), (-0.15, 1.75), (-0.3, 1.95)], ink, 0.05)
    if "backpack" in acc:
        strap = (70, 76, 50)
        for side in (-1, 1):
            brush.poly(
                [(side * 1.05, 2.15), (side * 1.45, 2.2), (side * 1.3, 5.0), (side * 0.95, 5.0)], strap
            )
            brush.poly(
                [(side * 1.0, 3.4), (side * 1.35, 3.4), (side * 1.35, 3.6), (side * 1.0, 3.6)], _SILVER
            )
    if "scarf" in acc:
        scarf = _accent(
            look, (170, 40, 50) if _luma(look.clothes) > 90 or look.clothes[0] < 120 else (220, 176, 40)
        )
        brush.poly([(-0.75, 1.75), (0.75, 1.75), (0.85, 2.4), (-0.85, 2.4)], scarf)
        brush.poly([(0.2, 2.3), (0.65, 2.3), (0.75, 3.7), (0.3, 3.7)], _shade(scarf, 0.9))
        brush.line([(0.32, 3.4), (0.73, 3.4)], _lighten(scarf, 0.4), 0.06)
    if "necklace" in acc:
        brush.line(brush.arc(0, 2.0, 0.55, 0.85, 10, 170), _GOLD, 0.045)
        brush.poly([(-0.1, 2.8), (0.1, 2.8), (0, 3.1)], _accent(look, (60, 140, 200)))
    if look.pose == "arms_crossed":
        sleeve = _shade(look.clothes, 0.88)
        brush.poly([(-2.3, 2.95), (1.5, 3.1), (1.5, 3.45), (-2.3, 3.4)], sleeve)
        brush.poly([(2.3, 3.25), (-1.5, 3.35), (-1.5, 3.7), (2.3, 3.6)], sleeve)
        brush.ellipse(1.6, 3.27, 0.26, 0.22, look.skin)
        brush.ellipse(-1.6, 3.52, 0.26, 0.22, look.skin)
    if "wristwatch" in acc:
        brush.poly([(-2.6, 3.9), (-1.2, 3.05), (-0.9, 3.4), (-2.3, 4.2)], look.skin)
        brush.poly([(-1.75, 3.3), (-1.5, 3.15), (-1.2, 3.55), (-1.45, 3.7)], (40, 40, 44))
        brush.ellipse(-1.47, 3.42, 0.16, 0.16, _SILVER)


def _ears(brush: _Brush, look: _Look) -> None:
    skin = look.skin
    for side in (-1, 1):
        if look.ethnicity == "elf":
            points = [(0.88, 0.35), (1.12, 0.3), (1.55, -0.65), (1.05, -0.15), (0.9, -0.1)]
        elif look.ethnicity == "orc":
            points = [(0.88, 0.4), (1.2, 0.35), (1.42, -0.3), (1.1, -0.1), (0.9, -0.1)]
        else:
            points = brush.arc(0.98, 0.12, 0.2, 0.3, -90, 90)
        brush.poly([(side * x, y) for x, y in points], skin)


def _head(brush: _Brush, look: _Look) -> None:
    square = {"male": 2.6, "female": 1.9}.get(look.gender, 2.2)
    if look.body_type == "heavyset":
        square = 2.8
    top = brush.arc(0, 0, 1.0, 1.27, 180, 360)
    bottom = []
    for x, y in _unit_arc(0, 180, max(6, brush.detail // 2)):
        sx = math.copysign(abs(x) ** (2 / square), x)
        sy = abs(y) ** (2 / square) * 1.27
        bottom.append((sx, sy))
    brush.poly([*top, *bottom], look.skin)


def _face_marks(brush: _Brush, look: _Look) -> None:
    skin, fs = look.skin, _FEATURE_SHIFT.get(look.pose, 0.0)
    line = _shade(skin, 0.75)
    if look.shading in ("soft", "hard", "dramatic"):
        depth = {"soft": 0.94, "hard": 0.84, "dramatic": 0.7}[look.shading]
        brush.poly(
            [*brush.arc(0, 0, 1.0, 1.27, -70, 70), *brush.arc(1.25, 0.05, 0.75, 1.2, 120, 240)],
            _shade(skin, depth),
            False,
        )
    if look.gender == "female" or look.age in ("child", "teen"):
        for side in (-1, 1):
            brush.ellipse(side * 0.58 + fs, 0.48, 0.16, 0.09, _mix(skin, (230, 110, 120), 0.22), False)
    if look.age == "adult":
        brush.line(brush.arc(fs, -0.25, 0.4, 0.2, 240, 300), _shade(skin, 0.86), 0.025)
    if look.age in ("middle_aged", "elderly"):
        brush.line(brush.arc(fs, -0.25, 0.45, 0.2, 230, 310), line, 0.03)
        if look.age == "elderly":
            brush.line(brush.arc(fs, -0.4, 0.5, 0.2, 230, 310), line, 0.03)
            for side in (-1, 1):
                brush.line([(side * 0.68 + fs, -0.02), (side * 0.8 + fs, -0.08)], line, 0.025)
                brush.line([(side * 0.68 + fs, 0.1), (side * 0.8 + fs, 0.14)], line, 0.025)
                brush.line([(side * 0.22 + fs, 0.5), (side * 0.36 + fs, 0.78)], line, 0.03)
    if "tattoos" in look.accessories:
        brush.dots([(-0.52 + fs, 0.4)], 0.04, (40, 70, 84))
    if "mask" in look.accessories:
        mask = _accent(look, (40, 36, 48))
        brush.poly(
            [
                (-0.95, -0.12),
                (-0.6, -0.28),
                (0, -0.1),
                (0.6, -0.28),
                (0.95, -0.12),
                (0.8, 0.28),
                (0.35, 0.32),
                (0, 0.16),
                (-0.35, 0.32),
                (-0.8, 0.28),
            ],
            mask,
        )


_BROWS = {  # inner lift, outer lift, arch (negative = up) per side (viewer-left, viewer-right)
    "neutral": ((0.0, 0.0, -0.04),) * 2,
    "smiling": ((-0.03, -0.02, -0.06),) * 2,
    "laughing": ((-0.07, -0.04, -0.08),) * 2,
    "confident": ((0.05, -0.03, -0.03),) * 2,
    "serious": ((0.07, 0.02, 0.0),) * 2,
    "sad": ((-0.12, 0.06, 0.0),) * 2,
    "angry": ((0.15, -0.07, 0.02),) * 2,
    "surprised": ((-0.15, -0.12, -0.09),) * 2,
    "thoughtful": ((0.0, 0.0, -0.03), (-0.1, -0.12, -0.06)),
    "mischievous": ((0.06, 0.02, 0.0), (-0.1, -0.14, -0.06)),
    "tired": ((-0.04, 0.07, 0.0),) * 2,
}


def _eyes(brush: _Brush, look: _Look) -> None:
    fs = _FEATURE_SHIFT.get(look.pose, 0.0)
    scale = 1.2 if look.age == "child" else 1.0
    openness = {"surprised": 1.35, "laughing": 0.7, "tired": 1.0, "angry": 0.85}.get(look.expression, 1.0)
    gaze = (-0.04, -0.03) if look.expression == "thoughtful" else (fs * 0.2, 0.0)
    rx, ry, iris = 0.23 * scale, 0.14 * scale * openness, 0.12 * scale
    lid = _shade(look.skin, 0.9)
    for side, colour in zip((-1, 1), look.eyes, strict=True):
        cx, cy = side * 0.4 + fs, 0.05
        brush.ellipse(cx, cy, rx, ry, _WHITE, False)
        ix, iy = cx + gaze[0], cy + gaze[1]
        brush.ellipse(ix, iy, iris, min(iris, ry * 0.98), colour, False)
        brush.ellipse(ix, iy, iris * 0.4, min(iris, ry) * 0.4, (16, 14, 16), False)
        brush.dots([(ix + iris * 0.35, iy - iris * 0.35)], iris * 0.22, (255, 255, 255))
        if look.expression == "tired":
            brush.poly(brush.arc(cx, cy, rx * 1.05, ry * 1.1, 180, 360), lid, False)
            brush.line(brush.arc(cx, cy + 0.16, rx * 0.8, 0.06, 20, 160), _shade(look.skin, 0.8), 0.02)
        brush.line(brush.arc(cx, cy, rx * 1.02, ry * 1.05, 180, 360), _INK, 0.04)
        if look.gender == "female":
            outer = cx + side * rx
            brush.line([(outer, cy - 0.02), (outer + side * 0.08, cy - 0.1)], _INK, 0.03)


def _brows(brush: _Brush, look: _Look) -> None:
    fs = _FEATURE_SHIFT.get(look.pose, 0.0)
    colour = _shade(look.hair, 0.7) if look.hair_style != "bald" else _shade(_DEFAULT_HAIR, 0.7)
    if look.age == "elderly":
        colour = _mix(colour, _GREY_HAIR, 0.5)
    width = 0.1 if look.gender == "male" or look.ethnicity == "orc" else 0.07
    for side, (inner, outer, arch) in zip((-1, 1), _BROWS[look.expression], strict=True):
        y = -0.22
        points = [
            (side * 0.18, y + inner),
            (side * 0.42, y + arch + (inner + outer) / 2),
            (side * 0.64, y + outer),
        ]
        brush.line([(x + fs, py) for x, py in points], colour, width)


def _nose(brush: _Brush, look: _Look) -> None:
    fs = _FEATURE_SHIFT.get(look.pose, 0.0) * 1.3
    colour = _shade(look.skin, 0.78)
    brush.line([(fs + 0.02, 0.2), (fs + 0.08, 0.47), (fs - 0.06, 0.52)], colour, 0.045)
    if look.ethnicity == "orc":
        brush.dots([(fs - 0.08, 0.5), (fs + 0.1, 0.5)], 0.04, _shade(look.skin, 0.6))


def _facial_hair(brush: _Brush, look: _Look) -> None:
    style, fs = look.facial_hair, _FEATURE_SHIFT.get(look.pose, 0.0)
    if style == "none":
        return
    hair = look.hair if look.hair_style != "bald" else _DEFAULT_HAIR
    jaw_inner = [
        (0.85, 0.35),
        (0.42, 0.62),
        (0.36, 0.88),
        (0, 0.95),
        (-0.36, 0.88),
        (-0.42, 0.62),
        (-0.85, 0.35),
    ]
    if style == "stubble":
        brush.poly(
            [*brush.arc(0, 0.05, 1.0, 1.24, 15, 165), *reversed(jaw_inner)], _mix(look.skin, hair, 0.3), False
        )
        return
    if style in ("short_beard", "full_beard", "long_beard"):
        length = {"short_beard": 1.42, "full_beard": 1.75, "long_beard": 2.1}[style]
        outer = brush.arc(0, 0.1, 1.04, length, 5, 175)
        if style == "long_beard":
            outer = [(x, y + max(0.0, 0.8 - abs(x)) * 1.1) for x, y in outer]
        brush.poly([*outer, *reversed(jaw_inner)], hair)
    if style == "goatee":
        brush.poly(brush.arc(fs, 1.0, 0.24, 0.3, 0, 360)[:-1], hair)
    moustache = [
        (-0.36, 0.7),
        (-0.12, 0.58),
        (0, 0.62),
        (0.12, 0.58),
        (0.36, 0.7),
        (0.2, 0.68),
        (0, 0.67),
        (-0.2, 0.68),
    ]
    brush.poly([(x + fs, y) for x, y in moustache], hair)


def _mouth(brush: _Brush, look: _Look) -> None:
    fs, expression = _FEATURE_SHIFT.get(look.pose, 0.0), look.expression
    lips = _mix(look.skin, _MOUTH, 0.75 if look.gender == "female" else 0.6)
    y = 0.76

    def curve(left: Point, mid: Point, right: Point, width: float = 0.06) -> None:
        brush.line([(x + fs, py) for x, py in (left, mid, right)], lips, width)

    if expression in ("laughing", "mischievous"):
        half = 0.32 if expression == "laughing" else 0.24
        right_lift = 0.0 if expression == "laughing" else 0.08
        top = [(-half + fs, y - 0.06), (half + fs, y - 0.06 - right_lift)]
        brush.poly([*top, *brush.arc(fs, y - 0.06, half, 0.26, 0, 180)[1:-1]], (90, 24, 34), lips)
        brush.poly(
            [top[0], top[1], (half * 0.8 + fs, y + 0.02 - right_lift), (-half * 0.8 + fs, y + 0.02)],
            _WHITE,
            False,
        )
    elif expression == "surprised":
        brush.ellipse(fs, y + 0.04, 0.1, 0.14, (90, 24, 34), lips)
    elif expression == "smiling":
        curve((-0.3, y - 0.06), (0, y + 0.08), (0.3, y - 0.06), 0.07)
    elif expression == "confident":
        curve((-0.24, y + 0.02), (0.02, y + 0.04), (0.28, y - 0.06))
    elif expression == "sad":
        curve((-0.26, y + 0.08), (0, y - 0.03), (0.26, y + 0.08))
    elif expression == "angry":
        brush.poly(
            [(-0.26 + fs, y + 0.06), (0 + fs, y - 0.04), (0.26 + fs, y + 0.06), (0 + fs, y + 0.04)],
            _WHITE,
            lips,
        )
    elif expression == "thoughtful":
        curve((0.0, y + 0.02), (0.14, y + 0.03), (0.26, y))
    elif expression in ("serious", "tired"):
        curve((-0.22, y + (0.03 if expression == "tired" else 0)), (0, y), (0.22, y + 0.03), 0.05)
    else:
        curve((-0.22, y), (0, y + 0.02), (0.22, y))
    if look.ethnicity == "orc":
        for side in (-1, 1):
            brush.poly(
                [(side * 0.3 + fs, y + 0.08), (side * 0.16 + fs, y + 0.08), (side * 0.24 + fs, y - 0.22)],
                (240, 232, 200),
            )


# Hair: each style is a back layer (behind the head) and a front layer (over the forehead).
_HAIRLINE = [
    (1.04, 0.05),
    (0.92, -0.42),
    (0.5, -0.7),
    (0.0, -0.62),
    (-0.5, -0.7),
    (-0.92, -0.42),
    (-1.04, 0.05),
]
_PARTED = [
    (1.1, 0.4),
    (0.96, -0.2),
    (0.55, -0.68),
    (0.08, -0.9),
    (0, -0.82),
    (-0.08, -0.9),
    (-0.55, -0.68),
    (-0.96, -0.2),
    (-1.1, 0.4),
]
_SLICKED = [(1.02, -0.05), (0.72, -0.78), (0, -0.98), (-0.72, -0.78), (-1.02, -0.05)]


def _cap(
    brush: _Brush,
    hairline: Sequence[Point],
    colour: RGB,
    cy: float = -0.05,
    rx: float = 1.1,
    ry: float = 1.36,
) -> None:
    brush.poly([*brush.arc(0, cy, rx, ry, 180, 360), *hairline], colour)


def _curtain(brush: _Brush, length: float, width: float, wave: float, colour: RGB) -> None:
    steps = 8
    right = [(width + wave * math.sin(i * 1.6), 0.2 + (length - 0.2) * i / steps) for i in range(steps + 1)]
    inner = [
        (0.92 + wave * math.sin(i * 1.6 + 0.5), 0.2 + (length - 0.3) * i / steps)
        for i in range(steps, -1, -1)
    ]
    brush.poly([*right, *inner], colour)
    brush.poly([(-x, y) for x, y in right + inner], colour)


def _locs(brush: _Brush, colour: RGB, starts: Iterable[float], length: float, rng: random.Random) -> None:
    dark = _shade(colour, 0.7)
    for x in starts:
        sx = math.copysign(min(1.1, abs(x)), x)
        points = [(sx, -0.3), (x * 1.15 + rng.uniform(-0.05, 0.05), length * 0.5), (x * 1.2, length)]
        brush.line(points, dark, 0.2)
        brush.line(points, colour, 0.14)


def _hair_back(brush: _Brush, look: _Look, rng: random.Random) -> None:
    style, colour = look.hair_style, look.hair
    dark = _shade(colour, 0.8)
    if style == "afro":
        bumps = brush.arc(0, -0.45, 1.85, 1.75)[:-1]
        brush.poly(bumps, colour)
        for x, y in bumps[:: max(1, len(bumps) // 14)]:
            brush.ellipse(x, y, 0.3, 0.3, colour, False)
    elif style == "curly":
        brush.ellipse(0, 0.15, 1.45, 1.75, colour)
        for x, y in brush.arc(0, 0.15, 1.45, 1.75, 0, 360)[:-1:2]:
            brush.ellipse(x, y, 0.36, 0.36, colour, dark)
    elif style in ("medium", "long", "wavy"):
        length = 2.1 if style == "medium" else 3.5
        wave = 0.12 if style == "wavy" else 0.0
        side = [(1.22 + wave * math.sin(i * 1.6), 0.2 + (length - 0.2) * i / 8) for i in range(9)]
        brush.poly([*brush.arc(0, -0.1, 1.18, 1.34, 180, 360), *side, *_mirror(side)], dark)
    elif style == "bob":
        brush.poly(
            [
                *brush.arc(0, -0.1, 1.22, 1.34, 180, 360),
                (1.26, 0.4),
                (1.22, 1.05),
                (-1.22, 1.05),
                (-1.26, 0.4),
            ],
            dark,
        )
    elif style == "ponytail":
        brush.poly(
            [(0.6, -1.0), (1.0, -1.15), (1.55, -0.5), (1.65, 0.6), (1.4, 1.9), (1.18, 1.0), (1.05, -0.2)],
            colour,
        )
    elif style == "dreadlocks":
        brush.poly([*brush.arc(0, -0.1, 1.15, 1.34, 180, 360), (1.2, 0.4), (-1.2, 0.4)], dark)
        _locs(brush, colour, (-0.95, -0.6, -0.3, 0.3, 0.6, 0.95), 2.2, rng)
    elif style == "braids":
        brush.poly([*brush.arc(0, -0.1, 1.14, 1.33, 180, 360), (1.15, 0.3), (-1.15, 0.3)], dark)


def _braid(brush: _Brush, side: int, colour: RGB, tie: RGB) -> None:
    for i in range(10):
        x = side * (1.08 + 0.03 * (i % 2)) + side * 0.02 * i
        brush.ellipse(x, 0.35 + i * 0.3, 0.17, 0.2, colour)
    brush.ellipse(side * 1.3, 3.35, 0.1, 0.08, tie)


def _hair_front(brush: _Brush, look: _Look, rng: random.Random) -> None:
    style, colour, skin = look.hair_style, look.hair, look.skin
    dark = _shade(colour, 0.8)
    if style == "bald":
        brush.ellipse(-0.35, -0.9, 0.22, 0.1, _lighten(skin, 0.25), False)
    elif style == "buzz_cut":
        _cap(brush, _HAIRLINE, _mix(skin, colour, 0.65), cy=0.0, rx=1.02, ry=1.3)
    elif style == "short":
        _cap(brush, _HAIRLINE, colour)
    elif style == "pixie":
        _cap(
            brush,
            [(1.04, 0.05), (0.85, -0.5), (0.3, -0.58), (-0.3, -0.32), (-0.78, -0.15), (-1.04, 0.1)],
            colour,
        )
    elif style == "bob":
        _cap(brush, [(1.12, 0.2), (0.84, -0.38), (-0.84, -0.38), (-1.12, 0.2)], colour, -0.08, 1.16, 1.33)
        for side in (-1, 1):
            brush.poly(
                [
                    (side * 1.2, 0.0),
                    (side * 1.22, 1.05),
                    (side * 0.94, 1.05),
                    (side * 0.86, 0.3),
                    (side * 0.84, -0.38),
                ],
                colour,
            )
    elif style in ("medium", "long", "wavy"):
        _cap(brush, _PARTED, colour)
        length = 2.0 if style == "medium" else 3.3
        _curtain(brush, length, 1.24, 0.12 if style == "wavy" else 0.0, colour)
        brush.line([(0.22, -1.05), (0.58, -0.76)], dark, 0.04)
    elif style in ("curly", "afro"):
        _cap(brush, _HAIRLINE, colour)
        for x, y in _HAIRLINE[1:-1]:
            brush.ellipse(x, y - 0.08, 0.24, 0.2, colour, dark)
    elif style == "braids":
        _cap(brush, _PARTED, colour)
        tie = _accent(look, (200, 60, 80))
        _braid(brush, -1, colour, tie)
        _braid(brush, 1, colour, tie)
    elif style in ("ponytail", "bun"):
        _cap(brush, _SLICKED, colour)
        brush.line([(0.0, -1.3), (0.4, -0.85)], dark, 0.03)
        if style == "bun":
            brush.ellipse(0, -1.5, 0.5, 0.45, colour)
            brush.line(brush.arc(0, -1.5, 0.3, 0.25, 200, 340), dark, 0.04)
        else:
            brush.ellipse(0.98, -0.82, 0.12, 0.1, _accent(look, (200, 60, 80)))
    elif style == "mohawk":
        _cap(brush, _HAIRLINE, _mix(skin, colour, 0.3), cy=0.0, rx=1.02, ry=1.3)
        spikes = [
            (-0.24, -0.7),
            (-0.34, -1.6),
            (-0.14, -1.4),
            (0.0, -2.15),
            (0.14, -1.4),
            (0.34, -1.6),
            (0.24, -0.7),
        ]
        brush.poly(spikes, colour)
    elif style == "undercut":
        _cap(brush, _HAIRLINE, _mix(skin, colour, 0.45), cy=0.0, rx=1.02, ry=1.3)
        _cap(
            brush,
            [(1.0, -0.45), (0.6, -0.62), (0.0, -0.55), (-0.6, -0.35), (-1.0, -0.25)],
            colour,
            -0.4,
            1.02,
            1.15,
        )
    elif style == "dreadlocks":
        _cap(brush, _PARTED, colour)
        _locs(brush, colour, (-1.1, -0.95, 0.95, 1.1), 2.3, rng)


def _head_props(brush: _Brush, look: _Look) -> None:
    acc, fs = look.accessories, _FEATURE_SHIFT.get(look.pose, 0.0)
    if "piercings" in acc:
        brush.dots([(0.14 + fs, 0.48), (0.62 + fs, -0.3), (0.66 + fs, -0.2)], 0.035, _SILVER)
        brush.line(brush.arc(0.14 + fs, 0.84, 0.06, 0.06, 0, 200), _SILVER, 0.025)
    if "earrings" in acc:
        for side in (-1, 1):
            brush.line(brush.arc(side * 1.02, 0.52, 0.09, 0.11), _GOLD, 0.035)
    if "glasses" in acc:
        for side in (-1, 1):
            brush.line(brush.arc(side * 0.4 + fs, 0.05, 0.28, 0.24), _INK, 0.05)
            brush.line([(side * 0.68 + fs, 0.0), (side * 1.0, -0.05)], _INK, 0.04)
        brush.line([(-0.12 + fs, 0.02), (0.12 + fs, 0.02)], _INK, 0.04)
    if "sunglasses" in acc:
        lens = (20, 20, 26)
        for side in (-1, 1):
            cx = side * 0.42 + fs
            brush.poly(
                [(cx - 0.3, -0.14), (cx + 0.3, -0.14), (cx + 0.26, 0.16), (cx, 0.26), (cx - 0.26, 0.16)], lens
            )
            brush.line([(cx - 0.18, -0.06), (cx - 0.06, 0.1)], (120, 120, 140), 0.03)
            brush.line([(side * 0.72 + fs, -0.1), (side * 1.0, -0.1)], lens, 0.05)
        brush.line([(-0.12 + fs, -0.08), (0.12 + fs, -0.08)], lens, 0.05)
    if "eyepatch" in acc:
        brush.line([(-1.0, -0.6), (1.0, 0.15)], _INK, 0.05)
        brush.ellipse(0.42 + fs, 0.06, 0.28, 0.24, _INK)
    if "headphones" in acc:
        brush.line(brush.arc(0, -0.05, 1.25, 1.5, 190, 350), (40, 40, 46), 0.14)
        for side in (-1, 1):
            brush.ellipse(side * 1.1, 0.05, 0.24, 0.36, _accent(look, (60, 60, 70)))
    if "hat" in acc:
        hat = _accent(look, (120, 84, 50))
        brush.poly([(-0.88, -0.85), (-0.74, -1.95), (0.74, -1.95), (0.88, -0.85)], hat)
        brush.poly([(-0.87, -1.1), (0.87, -1.1), (0.88, -0.9), (-0.88, -0.9)], _shade(hat, 0.55))
        brush.ellipse(0, -0.85, 1.9, 0.3, _shade(hat, 0.9))
    if "beanie" in acc:
        beanie = _accent(look, (200, 70, 60))
        brush.poly(brush.arc(0, -0.55, 1.14, 1.05, 180, 360), beanie)
        brush.poly([(-1.16, -0.78), (1.16, -0.78), (1.14, -0.42), (-1.14, -0.42)], _shade(beanie, 0.82))
        brush.ellipse(0, -1.68, 0.26, 0.24, _lighten(beanie, 0.3))
    if "crown" in acc:
        points = [
            (-0.8, -1.05),
            (-0.85, -1.8),
            (-0.45, -1.45),
            (0, -1.95),
            (0.45, -1.45),
            (0.85, -1.8),
            (0.8, -1.05),
        ]
        brush.poly(points, _GOLD)
        brush.dots([(-0.4, -1.2), (0.4, -1.2)], 0.07, (40, 90, 200))
        brush.dots([(0, -1.22)], 0.09, (200, 30, 50))
    if "flower" in acc:
        cx, cy = -0.92, -0.72
        petal = _accent(look, (240, 150, 190))
        for angle in range(0, 360, 72):
            a = math.radians(angle)
            brush.ellipse(cx + 0.16 * math.cos(a), cy + 0.16 * math.sin(a), 0.13, 0.13, petal)
        brush.ellipse(cx, cy, 0.09, 0.09, (250, 210, 60), False)
    if look.pose == "hand_on_chin":
        brush.poly([(0.0, 1.25), (0.75, 1.3), (1.3, 3.6), (0.5, 3.7)], _shade(look.clothes, 0.9))
        brush.ellipse(0.25, 1.4, 0.36, 0.3, look.skin)


# --- post-filters (full renders only) --------------------------------------------------------------


def _overlay(image: Image.Image, colour: RGB, mask: Image.Image) -> Image.Image:
    return Image.composite(Image.new("RGB", image.size, colour), image, mask)


def _radial(size: int, strength: int, inverse: bool = False) -> Image.Image:
    mask = Image.radial_gradient("L").resize((size, size), Image.Resampling.BILINEAR)
    if inverse:
        mask = ImageOps.invert(mask)
    return mask.point(lambda p: p * strength // 255)


def _side(size: int, strength: int, from_right: bool = False) -> Image.Image:
    mask = (
        Image.linear_gradient("L")
        .rotate(90 if from_right else -90)
        .resize((size, size), Image.Resampling.BILINEAR)
    )
    return mask.point(lambda p: p * strength // 255)


def _light(image: Image.Image, look: _Look) -> Image.Image:
    size = image.width
    lighting = look.lighting
    if lighting == "soft":
        image = ImageEnhance.Brightness(image).enhance(1.05)
    elif lighting == "studio":
        image = _overlay(image, (20, 20, 24), _radial(size, 90))
    elif lighting == "golden_hour":
        image = _overlay(image, (255, 170, 70), _side(size, 80))
    elif lighting == "rim":
        image = _overlay(image, (255, 255, 240), _side(size, 70, from_right=True))
    elif lighting == "neon":
        image = _overlay(image, (255, 40, 200), _side(size, 70))
        image = _overlay(image, (40, 230, 255), _side(size, 70, from_right=True))
    elif lighting == "candlelight":
        image = _overlay(
            _overlay(image, (255, 150, 60), Image.new("L", image.size, 45)), (10, 6, 4), _radial(size, 140)
        )
    elif lighting == "moonlight":
        image = _overlay(
            ImageEnhance.Brightness(image).enhance(0.8), (70, 100, 180), Image.new("L", image.size, 60)
        )
    elif lighting == "overcast":
        image = ImageEnhance.Color(image).enhance(0.7)
    elif lighting == "backlit":
        image = _overlay(ImageEnhance.Brightness(image).enhance(0.7), (255, 245, 220), _radial(size, 110))
    if look.contrast:
        image = ImageEnhance.Contrast(image).enhance(
            {"low": 0.75, "moderate": 1.0, "high": 1.35}[look.contrast]
        )
    if look.shading == "flat":
        image = ImageEnhance.Contrast(image).enhance(0.92)
    if "monochrome" in look.palette_keys:
        image = ImageOps.grayscale(image).convert("RGB")
    elif "sepia" in look.palette_keys:
        image = ImageOps.colorize(ImageOps.grayscale(image), (40, 26, 14), (250, 236, 210))
    elif "neon" in look.palette_keys or "jewel" in look.palette_keys:
        image = ImageEnhance.Color(image).enhance(1.3)
    elif "pastel" in look.palette_keys:
        image = Image.blend(image, Image.new("RGB", image.size, (250, 246, 250)), 0.2)
    return image


def _edges(image: Image.Image) -> Image.Image:
    return ImageOps.grayscale(image).filter(ImageFilter.FIND_EDGES).point(lambda p: 255 if p > 40 else 0)


def _outlined(image: Image.Image, colour: RGB) -> Image.Image:
    return Image.composite(
        Image.new("RGB", image.size, colour), image, _edges(image).filter(ImageFilter.MaxFilter(3))
    )


def _pixel_art(image: Image.Image) -> Image.Image:
    cells = max(24, min(64, image.width // 8))
    small = image.resize((cells, cells), Image.Resampling.BILINEAR).quantize(32).convert("RGB")
    return small.resize(image.size, Image.Resampling.NEAREST)


def _pencil(image: Image.Image) -> Image.Image:
    grey = ImageOps.grayscale(image).point(lambda p: 150 + p * 100 // 255)
    strokes = ImageOps.grayscale(image).filter(ImageFilter.FIND_EDGES).point(lambda p: min(255, p * 3))
    return ImageChops.subtract(grey, strokes).convert("RGB")


def _ink(image: Image.Image) -> Image.Image:
    grey = ImageOps.grayscale(image).point(lambda p: 255 if p > 110 else (170 if p > 60 else 40))
    return _outlined(ImageOps.colorize(grey, (20, 20, 30), (250, 248, 240)), (16, 16, 24))


def _watercolor(image: Image.Image) -> Image.Image:
    soft = image.filter(ImageFilter.GaussianBlur(max(1, image.width / 300)))
    return Image.blend(
        ImageEnhance.Color(soft).enhance(1.15), Image.new("RGB", image.size, (252, 250, 244)), 0.12
    )


def _impressionist(image: Image.Image, seed: int) -> Image.Image:
    pixels = np.asarray(image)
    rng = np.random.default_rng(seed % 2**63)
    size = image.width
    reach = max(1, size // 160)
    ys = np.clip(np.arange(size)[:, None] + rng.integers(-reach, reach + 1, (size, size)), 0, size - 1)
    xs = np.clip(np.arange(size)[None, :] + rng.integers(-reach, reach + 1, (size, size)), 0, size - 1)
    return Image.fromarray(pixels[ys, xs]).filter(ImageFilter.SMOOTH)


_ART_FILTERS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "pixel_art": _pixel_art,
    "pencil_sketch": _pencil,
    "ink": _ink,
    "watercolor": _watercolor,
    "oil_painting": lambda im: (
        ImageEnhance.Color(im.filter(ImageFilter.SMOOTH_MORE)).enhance(1.2).filter(ImageFilter.EDGE_ENHANCE)
    ),
    "anime": lambda im: ImageEnhance.Color(ImageOps.posterize(im, 5)).enhance(1.25),
    "comic": lambda im: _outlined(ImageOps.posterize(ImageEnhance.Color(im).enhance(1.3), 3), (14, 14, 18)),
    "low_poly": lambda im: im.quantize(20).convert("RGB"),
    "3d_render": lambda im: im.filter(ImageFilter.SMOOTH_MORE).filter(ImageFilter.DETAIL),
    "concept_art": lambda im: ImageEnhance.Contrast(ImageEnhance.Color(im).enhance(0.85)).enhance(1.1),
    "art_nouveau": lambda im: _outlined(
        Image.blend(im, ImageOps.colorize(ImageOps.grayscale(im), (60, 40, 20), (250, 230, 190)), 0.4),
        (70, 44, 24),
    ),
    "digital_painting": lambda im: im.filter(ImageFilter.SMOOTH),
    "photorealistic": lambda im: im.filter(ImageFilter.GaussianBlur(max(0.5, im.width / 700))),
}


def _texture(image: Image.Image, look: _Look, seed: int) -> Image.Image:
    if look.texture not in ("grainy", "canvas", "paper", "painterly"):
        if look.texture == "glossy":
            return ImageEnhance.Contrast(image).enhance(1.08)
        if look.texture == "matte":
            return ImageEnhance.Contrast(image).enhance(0.9)
        if look.texture == "smooth":
            return image.filter(ImageFilter.SMOOTH)
        return image
    # Coarse grain in a few levels: it reads as texture yet keeps the PNG small and quick to encode.
    rng = np.random.default_rng(seed % 2**63)
    size, grain = image.width, max(1, image.width // 256)
    step = {"grainy": 7, "canvas": 4, "paper": 4, "painterly": 5}[look.texture]
    cells = -(-size // grain)
    noise = np.clip(np.rint(rng.normal(0, 1, (cells, cells))), -2, 2).astype(np.int16) * step
    if look.texture == "canvas":
        weave = (np.arange(cells) % 2).astype(np.int16) * 6 - 3
        noise += weave[:, None] + weave[None, :]
    elif look.texture == "painterly":
        noise = np.repeat(noise[::4], 4, axis=0)[:cells]  # horizontal dabs
    noise = np.repeat(np.repeat(noise, grain, axis=0), grain, axis=1)[:size, :size]
    pixels = np.asarray(image).astype(np.int16) + noise[:, :, None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


# --- public API ------------------------------------------------------------------------------------


def _paint(
    values: Mapping[str, Any], seed: int, size: int, detail: int, mode: str = "RGB"
) -> tuple[Image.Image, _Look]:
    layout = random.Random(f"{seed}:layout")
    look = _resolve(values, layout)
    canvas = _background(look, size, mode)
    _decorate(_Brush(canvas, _Frame(0, 0, size), detail), look, random.Random(f"{seed}:scenery"))
    if look.lens in ("85mm", "telephoto") and not canvas.indexed:
        # Shallow depth of field: blur the scenery at half size; the supersampled canvas averages it back.
        small = canvas.image.reduce(2).filter(ImageFilter.GaussianBlur(size / 500))
        canvas = _Canvas(small.resize((size, size), Image.Resampling.NEAREST))

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
    unit = 0.16 * scale * size
    body_frame = _Frame(size * (0.5 + (0.03 if look.pose == "over_shoulder" else 0.0)), size * head_y, unit)
    tilt = math.radians(layout.uniform(-4.0, 4.0) * (2.5 if look.pose == "action" else 1.0))
    head_frame = _Frame(
        size * (0.5 + layout.uniform(-0.012, 0.012)),
        size * (head_y + layout.uniform(-0.008, 0.008)),
        unit,
        math.cos(tilt),
        math.sin(tilt),
    )
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


def render(values: Mapping[str, Any], seed: int, size: int = 1024) -> Image.Image:
    """A square RGB portrait; unknown or blank values fall back to defaults."""
    size = _check_size(size)
    supersample = 2 if size <= 1024 else 1
    image, look = _paint(values, seed, size * supersample, detail=max(24, min(96, size // 8)))
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


def render_png(values: Mapping[str, Any], seed: int, size: int = 1024) -> bytes:
    return _png(render(values, seed, size), compress_level=6)


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
def _sketch(key: tuple[tuple[str, Any], ...], size: int) -> bytes:
    image, _look = _paint(dict(key), SKETCH_SEED, size, detail=20, mode="P")
    return _png(image, compress_level=1)


def sketch_png(values: Mapping[str, Any], size: int = 256) -> bytes:
    """The live preview's instant sketch: one small palette canvas, no supersampling or filters.

    Cached by the appearance values, since the preview re-renders on every keystroke in any field.
    """
    return _sketch(_sketch_key(values), _check_size(size))


# --- free text -> values ---------------------------------------------------------------------------

_COLOUR_NOUNS = {
    "hair_color": ("hair", "haired"),
    "eye_color": ("eyes", "eye", "eyed"),
    "skin_tone": ("skin", "skinned"),
}
_CLOTHING_NOUNS = (
    "shirt",
    "t shirt",
    "tshirt",
    "suit",
    "dress",
    "hoodie",
    "jacket",
    "armour",
    "armor",
    "robe",
    "robes",
    "uniform",
    "coat",
    "cloak",
    "kimono",
    "sweater",
    "jumper",
    "spacesuit",
    "outfit",
    "clothes",
)
_EXTRA_PHRASES = {
    "heterochromia": ("eye_color", "heterochromia"),
    "heterochromatic": ("eye_color", "heterochromia"),
    "bearded": ("facial_hair", "full_beard"),
    "beard": ("facial_hair", "full_beard"),
    "moustached": ("facial_hair", "moustache"),
    "mustache": ("facial_hair", "moustache"),
    "smile": ("expression", "smiling"),
    "smiles": ("expression", "smiling"),
    "frowning": ("expression", "sad"),
    "girl": ("gender", "female"),
    "lady": ("gender", "female"),
    "boy": ("gender", "male"),
    "old": ("age", "elderly"),
    "elf": ("ethnicity", "elf"),
    "elven": ("ethnicity", "elf"),
    "orc": ("ethnicity", "orc"),
    "stars": ("background", "space"),
    "pointed ears": ("ethnicity", "elf"),
    "tusks": ("ethnicity", "orc"),
}
# Attributes whose bare labels are too generic to match on their own ("Red", "Soft", "Low", ...).
_PHRASE_ONLY = {
    "skin_tone",
    "eye_color",
    "hair_color",
    "clothing_color",
    "dominant_colors",
    "contrast",
    "shading",
    "texture",
    "lens",
    "clothing_style",
}


def _words(text: str) -> str:
    return " " + " ".join(re.sub(r"[^0-9a-z]+", " ", text.casefold()).split()) + " "


def _plain_label(label: str) -> str:
    return label.split("(")[0].split("/")[0]


@lru_cache(maxsize=1)
def _needles() -> tuple[tuple[str, str, str, int], ...]:
    """(words, attribute, key, claimed length) to look for, longest first so "glowing red eyes" beats "red".

    A clothing colour matched as "red hoodie" claims only "red", leaving "hoodie" for the clothing.
    """
    label_owners: dict[str, set[str]] = {}
    for attribute in v.ATTRIBUTES:
        for choice in attribute.choices:
            label_owners.setdefault(_words(_plain_label(choice.label)), set()).add(attribute.name)
    found: dict[str, tuple[str, str, int]] = {}
    for attribute in v.ATTRIBUTES:
        for choice in attribute.choices:
            candidates = [choice.phrase]
            label = _words(_plain_label(choice.label))
            if attribute.name not in _PHRASE_ONLY and len(label_owners[label]) == 1:
                candidates.append(label)
            for noun in _COLOUR_NOUNS.get(attribute.name, ()):
                candidates.append(f"{_plain_label(choice.label)} {noun}")
            for candidate in candidates:
                needle = _words(candidate)
                found.setdefault(needle, (attribute.name, choice.key, len(needle)))
            if attribute.name == "clothing_color":
                for noun in _CLOTHING_NOUNS:
                    found.setdefault(
                        _words(f"{choice.label} {noun}"), (attribute.name, choice.key, len(label))
                    )
    for phrase, (name, key) in _EXTRA_PHRASES.items():
        found.setdefault(_words(phrase), (name, key, len(_words(phrase))))
    ordered = sorted(found.items(), key=lambda item: (-len(item[0]), item[0]))
    return tuple((needle, *target) for needle, target in ordered if needle.strip())


def values_from_prompt(text: str) -> dict[str, Any]:
    """Best-effort vocabulary values from free prompt text: phrases and labels, longest match first."""
    haystack = _words(text or "")
    taken = [False] * len(haystack)
    single: dict[str, str] = {}
    multiple: dict[str, set[str]] = {}
    for needle, name, key, claimed in _needles():
        start = haystack.find(needle)
        while start != -1:
            span = range(start + 1, start + claimed - 1)
            if not any(taken[i] for i in span):
                for i in span:
                    taken[i] = True
                if v.BY_NAME[name].multiple:
                    multiple.setdefault(name, set()).add(key)
                else:
                    single.setdefault(name, key)
            start = haystack.find(needle, start + 1)
    result: dict[str, Any] = {}
    for attribute in v.ATTRIBUTES:
        if attribute.name in single:
            result[attribute.name] = single[attribute.name]
        elif attribute.name in multiple:
            result[attribute.name] = [c.key for c in attribute.choices if c.key in multiple[attribute.name]]
    return result
