"""The face: head shape, ears, eyes, brows, nose and mouth, and marks on the skin."""

from __future__ import annotations

import math

from .canvas import _DEFAULT_HAIR, _GREY_HAIR, _INK, _MOUTH, _WHITE, Point, _Brush, _mix, _shade, _unit_arc
from .look import _FEATURE_SHIFT, _accent, _Look


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
