"""Colours and the drawing surface: normalised frames, the palette canvas and the brush."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw

RGB = tuple[int, int, int]
Point = tuple[float, float]

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


# --- drawing in normalised frames ------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    ox: float
    oy: float
    unit: float
    cos: float = 1.0
    sin: float = 0.0
    squash: float = 1.0  # sideways scale: a body seen from the side is narrower

    def map(self, points: Iterable[Point]) -> list[Point]:
        ox, oy, u, c, s, q = self.ox, self.oy, self.unit, self.cos, self.sin, self.squash
        if q != 1.0:
            points = [(x * q, y) for x, y in points]
        return [(ox + u * (x * c - y * s), oy + u * (x * s + y * c)) for x, y in points]

    def shifted(self, dx: float, dy: float = 0.0) -> _Frame:
        """The same frame moved by (dx, dy) in its own units."""
        ((ox, oy),) = self.map([(dx, dy)])
        return _Frame(ox, oy, self.unit, self.cos, self.sin, self.squash)


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

    def shifted(self, dx: float, dy: float = 0.0) -> _Brush:
        return _Brush(self.canvas, self.frame.shifted(dx, dy), self.detail)

    def mirrored(self, flip: bool = True) -> _Brush:
        """The same frame drawn left for right (a parting on the other side)."""
        if not flip:
            return self
        frame = self.frame
        return _Brush(
            self.canvas,
            _Frame(frame.ox, frame.oy, frame.unit, frame.cos, frame.sin, -frame.squash),
            self.detail,
        )

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
