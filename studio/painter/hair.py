"""Hair behind and over the head, and facial hair."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence

from .canvas import _DEFAULT_HAIR, RGB, Point, _Brush, _lighten, _mirror, _mix, _shade
from .look import _accent, _Look


def _facial_hair(brush: _Brush, look: _Look) -> None:
    style, fs = look.facial_hair, look.fs
    if style == "none" or look.view == "back":
        return
    hair = look.hair if look.hair_style != "bald" else _DEFAULT_HAIR
    if look.view == "profile":
        _profile_facial_hair(brush, look, hair)
        return
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
    if look.view == "profile":
        _profile_hair_back(brush, look)
        return
    # The hair behind the head swings away from the way the face turns.
    brush = brush.shifted(-look.fs * 0.6).mirrored(look.face.part < 0)
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
    if look.view == "profile":
        _profile_hair(brush, look)
        return
    if look.view == "back":
        _hair_from_behind(brush, look, rng)
        return
    brush = brush.shifted(look.fs * 0.25).mirrored(look.face.part < 0)
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


# --- other views -------------------------------------------------------------------------------------


def _profile_facial_hair(brush: _Brush, look: _Look, hair: RGB) -> None:
    f, style, d = look.face, look.facial_hair, 1 if look.shot.turn >= 0 else -1
    bottom, my = f.head_h + f.chin, f.mouth_y

    def shape(points: Sequence[Point], colour: RGB, edge: bool = True) -> None:
        brush.poly([(d * x, y) for x, y in points], colour, edge)

    extra = {"stubble": 0.0, "short_beard": 0.14, "full_beard": 0.4, "long_beard": 0.85}.get(style)
    if extra is not None:
        colour = _mix(look.skin, hair, 0.3) if style == "stubble" else hair
        beard = [
            (0.08, 0.15),
            (0.6, 0.5),
            (0.9, my + 0.1),
            (0.95, bottom * 0.86),
            (0.78, bottom + extra),
            (0.25, bottom * 0.92 + extra * 0.6),
            (-0.3, 0.72),
        ]
        shape(beard, colour, style != "stubble")
    if style == "goatee":
        shape(brush.arc(0.82, bottom * 0.88, 0.16, 0.24)[:-1], hair)
    if style != "stubble":
        shape([(0.96, f.nose_len + 0.1), (0.7, my - 0.05), (0.93, my - 0.02)], hair)


def _profile_cap(brush: _Brush, look: _Look, colour: RGB) -> None:
    f, d = look.face, 1 if look.shot.turn >= 0 else -1
    cap = [
        *brush.arc(-0.1, -0.07, 1.1 * f.head_w, f.head_h + 0.06, 120, 300),
        (0.62, -0.98),
        (0.3, -0.72),
        (0.14, -0.42),
        (0.18, 0.08),
        (0.06, -0.2),
        (-0.36, -0.24),
        (-0.38, 0.5),
    ]
    brush.poly([(d * x, y) for x, y in cap], colour)


def _profile_hair_back(brush: _Brush, look: _Look) -> None:
    style, colour, d = look.hair_style, _shade(look.hair, 0.8), 1 if look.shot.turn >= 0 else -1
    length = {"medium": 2.0, "long": 3.4, "wavy": 3.4, "bob": 1.05, "braids": 3.2, "dreadlocks": 2.3}.get(
        style
    )
    if length is not None:
        brush.poly(
            [(d * x, y) for x, y in [(-0.2, -0.6), (-0.35, length), (-1.3, length), (-1.25, 0.0)]], colour
        )
    elif style in ("curly", "afro"):
        r = 1.85 if style == "afro" else 1.5
        brush.ellipse(d * -0.35, -0.35, r, r * 0.95, look.hair)
    elif style == "ponytail":
        brush.poly(
            [(d * x, y) for x, y in [(-0.8, -0.9), (-1.45, -0.5), (-1.6, 0.8), (-1.35, 1.9), (-1.05, 0.4)]],
            look.hair,
        )


def _profile_hair(brush: _Brush, look: _Look) -> None:
    style, colour, skin, d = look.hair_style, look.hair, look.skin, 1 if look.shot.turn >= 0 else -1
    if style == "bald":
        brush.ellipse(d * 0.1, -1.0, 0.25, 0.1, _lighten(skin, 0.25), False)
        return
    shade = {"buzz_cut": 0.65, "mohawk": 0.3, "undercut": 0.45}.get(style)
    _profile_cap(brush, look, _mix(skin, colour, shade) if shade else colour)
    if style == "mohawk":
        brush.poly(
            [(d * x, y) for x, y in [(0.5, -1.1), (0.2, -2.0), (-0.4, -1.9), (-1.1, -1.2), (-0.4, -1.25)]],
            colour,
        )
    elif style == "undercut":
        brush.poly(
            [(d * x, y) for x, y in [(0.7, -0.95), (0.1, -1.45), (-0.9, -1.0), (-0.5, -0.7), (0.3, -0.75)]],
            colour,
        )
    elif style == "bun":
        brush.ellipse(d * -0.95, -1.05, 0.45, 0.42, colour)
    elif style in ("curly", "afro"):
        for x, y in ((0.55, -1.0), (0.2, -1.2), (0.1, -0.6)):
            brush.ellipse(d * x, y, 0.24, 0.2, colour, _shade(colour, 0.8))
    elif style == "braids":
        for i in range(9):
            brush.ellipse(d * (-0.4 - 0.02 * i), 0.4 + i * 0.3, 0.16, 0.19, colour)
    elif style in ("medium", "long", "wavy"):
        brush.line([(d * 0.4, -1.05), (d * -0.2, -0.9)], _shade(colour, 0.8), 0.04)


def _hair_from_behind(brush: _Brush, look: _Look, rng: random.Random) -> None:
    style, colour, skin, f = look.hair_style, look.hair, look.skin, look.face
    dark = _shade(colour, 0.8)
    if style == "bald":
        brush.ellipse(-0.3, -0.8, 0.25, 0.12, _lighten(skin, 0.25), False)
        return
    shade = {"buzz_cut": 0.65, "mohawk": 0.3, "undercut": 0.45}.get(style)
    cap = _mix(skin, colour, shade) if shade else colour
    rx, ry = 1.1 * f.head_w, f.head_h + 0.08
    nape = [(rx * 0.9, 0.5), (0.4, 0.72), (0.0, 0.66), (-0.4, 0.72), (-rx * 0.9, 0.5)]
    brush.poly([*brush.arc(0, -0.05, rx, ry, 180, 360), (rx, 0.1), *nape, (-rx, 0.1)], cap)
    length = {"medium": 2.0, "long": 3.3, "wavy": 3.3, "bob": 1.05}.get(style)
    if length is not None:
        wave = 0.12 if style == "wavy" else 0.0
        side = [(1.22 + wave * math.sin(i * 1.6), 0.0 + length * i / 8) for i in range(9)]
        brush.poly([*brush.arc(0, -0.05, rx, ry, 180, 360), *side, *_mirror(side)], colour)
        brush.line([(0.0, -ry), (0.0, -0.4)], dark, 0.04)
    elif style == "mohawk":
        brush.poly([(-0.24, -1.6), (0.24, -1.6), (0.2, 0.6), (-0.2, 0.6)], colour)
    elif style == "undercut":
        brush.poly(
            [*brush.arc(0, -0.3, rx * 0.95, 1.15, 180, 360), (rx * 0.9, -0.35), (-rx * 0.9, -0.35)], colour
        )
    elif style in ("curly", "afro"):
        r = 1.85 if style == "afro" else 1.45
        brush.ellipse(0, -0.35 if style == "afro" else 0.15, r, r * 0.95, colour)
        for x, y in brush.arc(0, -0.2, r * 0.7, r * 0.6, 0, 360)[:-1:3]:
            brush.ellipse(x, y, 0.26, 0.24, colour, dark)
    elif style == "ponytail":
        brush.poly([(-0.22, -0.7), (0.22, -0.7), (0.3, 1.8), (0.0, 2.2), (-0.3, 1.8)], colour)
        brush.ellipse(0, -0.7, 0.16, 0.12, _accent(look, (200, 60, 80)))
    elif style == "bun":
        brush.ellipse(0, -0.95, 0.5, 0.45, colour)
        brush.line(brush.arc(0, -0.95, 0.3, 0.25, 200, 340), dark, 0.04)
    elif style == "braids":
        tie = _accent(look, (200, 60, 80))
        _braid(brush, -1, colour, tie)
        _braid(brush, 1, colour, tie)
    elif style == "dreadlocks":
        _locs(brush, colour, (-0.95, -0.6, -0.3, 0.0, 0.3, 0.6, 0.95), 2.3, rng)
