"""The face: head shape, ears, eyes, brows, nose and mouth, and marks on the skin.

Shapes, sizes and places come from the character's identity (look.face); the turn of the head (look.fs),
the gaze and the expression come from the shot. A profile is drawn facing the viewer's right, mirrored by
`_side`; from behind, only the head and ears show.
"""

from __future__ import annotations

import math
import random

from .canvas import _DEFAULT_HAIR, _GREY_HAIR, _INK, _MOUTH, _WHITE, Point, _Brush, _mix, _shade, _unit_arc
from .look import _accent, _Look

_DARK_MOUTH = (90, 24, 34)
_TUSK = (240, 232, 200)
# How far each kind of nose stands out of a profile.
_NOSE_PROJECTION = {"button": 0.08, "straight": 0.14, "hooked": 0.2, "broad": 0.11}


def _side(look: _Look) -> int:
    """Which way a profile faces: 1 the viewer's right, -1 the left."""
    return 1 if look.shot.turn >= 0 else -1


def _far(look: _Look, side: int) -> bool:
    """Whether this side of the face is turned away from the viewer."""
    return abs(look.shot.turn) > 0.1 and side * look.shot.turn > 0


def _profile(brush: _Brush, look: _Look, points: list[Point], fill: tuple[int, int, int], edge: bool = True):
    d = _side(look)
    brush.poly([(d * x, y) for x, y in points], fill, edge)


def _ears(brush: _Brush, look: _Look) -> None:
    skin, f = look.skin, look.face
    if look.view == "profile":
        d, e = _side(look), f.ear
        if look.ethnicity == "elf":
            points = [(0.0, 0.35), (-0.25, 0.3), (-0.55, -0.6), (-0.2, -0.1), (0.0, -0.05)]
        elif look.ethnicity == "orc":
            points = [(0.0, 0.4), (-0.3, 0.35), (-0.5, -0.3), (-0.2, -0.1), (0.0, -0.05)]
        else:
            points = brush.arc(-0.12, 0.15, 0.2 * e, 0.3 * e)[:-1]
        brush.poly([(d * x, y) for x, y in points], skin)
        brush.line([(d * (-0.12 + 0.06 * e), 0.02), (d * -0.12, 0.2)], _shade(skin, 0.75), 0.03)
        return
    for side in (-1, 1):
        if look.view != "back" and abs(look.shot.turn) > 0.4 and side * look.shot.turn > 0:
            continue  # hidden behind the turned face
        shift = 0.0 if look.view == "back" else look.fs * 0.5
        e = f.ear
        if look.ethnicity == "elf":
            points = [(0.88, 0.35), (1.12, 0.3), (1.55, -0.65), (1.05, -0.15), (0.9, -0.1)]
        elif look.ethnicity == "orc":
            points = [(0.88, 0.4), (1.2, 0.35), (1.42, -0.3), (1.1, -0.1), (0.9, -0.1)]
        else:
            points = brush.arc(0.88 + 0.1 * e, 0.12, 0.2 * e, 0.3 * e, -90, 90)
        brush.poly([(side * x * f.head_w + shift, y) for x, y in points], skin)


def _head(brush: _Brush, look: _Look) -> None:
    f = look.face
    if look.view == "profile":
        _profile_head(brush, look)
        return
    top = brush.arc(0, 0, f.head_w, f.head_h, 180, 360)
    lean = 0.0 if look.view == "back" else look.fs * 0.35  # the chin follows the turn
    bottom = []
    for x, y in _unit_arc(0, 180, max(6, brush.detail // 2)):
        sy = abs(y) ** (2 / f.jaw) * f.head_h + f.chin * max(0.0, 1 - abs(x) * 2.5)
        bottom.append((math.copysign(abs(x) ** (2 / f.jaw), x) * f.head_w + lean * sy / f.head_h, sy))
    brush.poly([*top, *bottom], look.skin)


def _profile_head(brush: _Brush, look: _Look) -> None:
    f = look.face
    nose, tip = _NOSE_PROJECTION[f.nose], f.nose_len
    my, bottom = f.mouth_y, f.head_h + f.chin
    outline = [
        *brush.arc(-0.08, -0.05, 1.08 * f.head_w, f.head_h + 0.03, 140, 300),
        (0.78, -0.72),
        (0.9, -0.35),
        (0.97, -0.13),
        (0.88, 0.03),
        (0.93 + nose * 0.3 + (0.05 if f.nose == "hooked" else 0.0), tip * 0.55),
        (1.02 + nose, tip + 0.02),
        (0.93, tip + 0.1),
        (0.95, my - 0.07),
        (0.91, my),
        (0.94 + 0.03 * f.lips, my + 0.07),
        (0.86, my + 0.19),
        (0.9, bottom * 0.86),
        (0.72, bottom),
        (0.2, bottom * 0.92),
        (-0.32, 0.72),
    ]
    _profile(brush, look, outline, look.skin)


def _face_marks(brush: _Brush, look: _Look) -> None:
    if look.view == "back":
        return
    skin, fs, f = look.skin, look.fs, look.face
    line = _shade(skin, 0.75)
    profile = look.view == "profile"
    d = _side(look)
    if look.shading in ("soft", "hard", "dramatic"):
        depth = {"soft": 0.94, "hard": 0.84, "dramatic": 0.7}[look.shading]
        if profile:
            _profile(brush, look, brush.arc(-0.3, 0.3, 0.6, 0.9, 90, 270), _shade(skin, depth), False)
        else:
            brush.poly(
                [*brush.arc(0, 0, 1.0, 1.27, -70, 70), *brush.arc(1.25, 0.05, 0.75, 1.2, 120, 240)],
                _shade(skin, depth),
                False,
            )
    cheeks = [(0.55, 0.42)] if profile else [(side * 0.58 + fs, 0.48) for side in (-1, 1)]
    if look.gender == "female" or look.age in ("child", "teen"):
        for x, y in cheeks:
            brush.ellipse(x * (d if profile else 1), y, 0.16, 0.09, _mix(skin, (230, 110, 120), 0.22), False)
    freckle_odds = 0.5 if look.hair[0] > 140 and look.hair[1] < 120 else 0.2  # red hair freckles more
    if f.freckles < freckle_odds:
        spots = random.Random("freckles")
        colour = _mix(skin, (120, 70, 40), 0.35)
        points = []
        for x, y in cheeks:
            for _ in range(9):
                points.append((x + spots.uniform(-0.2, 0.2), y + spots.uniform(-0.14, 0.08)))
        brush.dots([(px * (d if profile else 1), py) for px, py in points], 0.022, colour)
    if f.mole and not profile:
        brush.dots([(f.mole[0] + fs, f.mole[1])], 0.035, _shade(skin, 0.45))
    wx, wd = (0.55 * d, 0.2) if profile else (fs, 0.4)
    if look.age == "adult":
        brush.line(brush.arc(wx, -0.25, wd, 0.2, 240, 300), _shade(skin, 0.86), 0.025)
    if look.age in ("middle_aged", "elderly"):
        brush.line(brush.arc(wx, -0.25, wd * 1.1, 0.2, 230, 310), line, 0.03)
        if look.age == "elderly":
            brush.line(brush.arc(wx, -0.4, wd * 1.2, 0.2, 230, 310), line, 0.03)
            for side in (-1, 1):
                if not profile or side == d:
                    brush.line([(side * 0.68 + fs, -0.02), (side * 0.8 + fs, -0.08)], line, 0.025)
                    brush.line([(side * 0.68 + fs, 0.1), (side * 0.8 + fs, 0.14)], line, 0.025)
            if not profile:
                for side in (-1, 1):
                    brush.line([(side * 0.22 + fs, 0.5), (side * 0.36 + fs, 0.78)], line, 0.03)
    if "tattoos" in look.accessories:
        brush.dots([(-0.52 + fs, 0.4) if not profile else (0.3 * d, 0.4)], 0.04, (40, 70, 84))
    if "mask" in look.accessories:
        mask = _accent(look, (40, 36, 48))
        if profile:
            _profile(brush, look, [(0.3, -0.15), (0.98, -0.15), (0.92, 0.28), (0.3, 0.3)], mask)
            return
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
_OPENNESS = {"surprised": 1.35, "laughing": 0.7, "tired": 1.0, "angry": 0.85, "mischievous": 0.85}


def _eye_shape(brush: _Brush, cx: float, cy: float, rx: float, ry: float, tilt: float, side: int, a0, a1):
    """Points of an eye outline whose outer corner is lifted by tilt."""
    return [(x, y - tilt * side * (x - cx) / rx) for x, y in brush.arc(cx, cy, rx, ry, a0, a1)]


def _eyes(brush: _Brush, look: _Look) -> None:
    if look.view == "back":
        return
    f, fs, turn = look.face, look.fs, abs(look.shot.turn)
    scale = 1.2 if look.age == "child" else 1.0
    openness = _OPENNESS.get(look.expression, 1.0)
    gaze = (
        (-0.04, -0.03)
        if look.expression == "thoughtful"
        else (fs * 0.2 + look.shot.gaze[0], look.shot.gaze[1])
    )
    lid = _shade(look.skin, 0.9)
    eyes = list(zip((-1, 1), look.eyes, strict=True))
    if look.view == "profile":
        eyes = [(_side(look), look.eyes[1])]
    for side, colour in eyes:
        far = _far(look, side)
        if look.view == "profile":
            cx, rx = side * 0.6, f.eye_rx * scale * 0.5
        else:
            squeeze = 1 - 0.45 * turn if far else 1.0
            cx, rx = side * f.eye_gap * (1 - 0.25 * turn if far else 1.0) + fs, f.eye_rx * scale * squeeze
        cy, ry = f.eye_y, f.eye_ry * scale * openness
        tilt = f.eye_tilt
        brush.poly(_eye_shape(brush, cx, cy, rx, ry, tilt, side, 0, 360)[:-1], _WHITE, False)
        iris = f.eye_rx * scale * f.iris * (0.7 if look.view == "profile" else 1.0)
        ix = cx + gaze[0] + (side * rx * 0.45 if look.view == "profile" else 0.0)
        ix = max(cx - rx + iris * 0.6, min(cx + rx - iris * 0.6, ix))
        iy = cy + gaze[1]
        brush.ellipse(ix, iy, min(iris, rx * 0.9), min(iris, ry * 0.98), colour, False)
        brush.ellipse(ix, iy, min(iris, rx) * 0.4, min(iris, ry) * 0.4, (16, 14, 16), False)
        brush.dots([(ix + iris * 0.35, iy - iris * 0.35)], iris * 0.22, (255, 255, 255))
        if look.expression == "tired" or f.hooded:
            depth = 1.1 if look.expression == "tired" else 0.55
            brush.poly(
                _eye_shape(brush, cx, cy - ry * (1.1 - depth), rx * 1.05, ry * depth, tilt, side, 180, 360),
                lid,
                False,
            )
        if look.expression == "tired":
            brush.line(brush.arc(cx, cy + 0.16, rx * 0.8, 0.06, 20, 160), _shade(look.skin, 0.8), 0.02)
        if f.hooded:
            crease = _eye_shape(brush, cx, cy - ry * 0.25, rx * 1.05, ry * 1.2, tilt, side, 195, 345)
            brush.line(crease, _shade(look.skin, 0.72), 0.025)
        brush.line(_eye_shape(brush, cx, cy, rx * 1.02, ry * 1.05, tilt, side, 180, 360), _INK, 0.04)
        if look.gender == "female":
            outer = cx + side * rx
            lift = cy - tilt
            brush.line([(outer, lift - 0.02), (outer + side * 0.08, lift - 0.1)], _INK, 0.03)


def _brows(brush: _Brush, look: _Look) -> None:
    if look.view == "back":
        return
    f, fs, turn = look.face, look.fs, abs(look.shot.turn)
    colour = _shade(look.hair, 0.7) if look.hair_style != "bald" else _shade(_DEFAULT_HAIR, 0.7)
    if look.age == "elderly":
        colour = _mix(colour, _GREY_HAIR, 0.5)
    width = f.brow_w * (1.3 if look.ethnicity == "orc" else 1.0)
    spread = f.eye_gap / 0.4
    for side, (inner, outer, arch) in zip((-1, 1), _BROWS[look.expression], strict=True):
        y = f.brow_y
        arch += f.brow_arch
        if look.view == "profile":
            if side != _side(look):
                continue
            points = [(side * 0.82, y + inner), (side * 0.62, y + arch + inner / 2), (side * 0.42, y + outer)]
            brush.line(points, colour, width)
            continue
        narrow = (1 - 0.35 * turn) if _far(look, side) else 1.0
        points = [
            (side * 0.18 * spread * narrow, y + inner),
            (side * 0.42 * spread * narrow, y + arch + (inner + outer) / 2),
            (side * 0.64 * spread * narrow, y + outer),
        ]
        brush.line([(x + fs, py) for x, py in points], colour, width)


def _nose(brush: _Brush, look: _Look) -> None:
    if look.view == "back":
        return
    f = look.face
    colour = _shade(look.skin, 0.78)
    tip, w = f.nose_len, f.nose_w
    if look.view == "profile":
        d = _side(look)
        brush.line(brush.arc(d * 0.9, tip + 0.02, 0.07, 0.05, 200, 340), colour, 0.035)
        return
    fs = look.fs * 1.3
    if f.nose == "button":
        brush.line([(fs + 0.01, 0.24), (fs + 0.03, tip - 0.08)], colour, 0.035)
        brush.line(brush.arc(fs, tip - 0.02, w * 0.8, 0.06, 10, 170), colour, 0.045)
    elif f.nose == "hooked":
        brush.line(
            [(fs - 0.01, 0.16), (fs + 0.08, 0.3), (fs + 0.08, tip), (fs - 0.05, tip + 0.05)], colour, 0.045
        )
    elif f.nose == "broad":
        brush.line([(fs + 0.02, 0.2), (fs + 0.05, tip - 0.05)], colour, 0.04)
        brush.line(brush.arc(fs, tip - 0.03, w * 1.3, 0.08, 0, 180), colour, 0.045)
    else:
        brush.line([(fs + 0.02, 0.2), (fs + 0.08, tip - 0.03), (fs - 0.06, tip + 0.03)], colour, 0.045)
    for side in (-1, 1):  # the nostrils' wings
        brush.line(brush.arc(fs + side * w, tip, 0.05, 0.05, 90 - side * 90, 180 - side * 90), colour, 0.03)
    if look.ethnicity == "orc":
        brush.dots([(fs - 0.08, tip + 0.03), (fs + 0.1, tip + 0.03)], 0.04, _shade(look.skin, 0.6))


def _mouth(brush: _Brush, look: _Look) -> None:
    if look.view == "back":
        return
    if look.view == "profile":
        _profile_mouth(brush, look)
        return
    f, fs, expression = look.face, look.fs, look.expression
    lips = _mix(look.skin, _MOUTH, 0.75 if look.gender == "female" else 0.6)
    y, mw = f.mouth_y, f.mouth_w

    def curve(left: Point, mid: Point, right: Point, width: float = 0.06) -> None:
        brush.line([(x * mw + fs, py) for x, py in (left, mid, right)], lips, width)

    if expression in ("laughing", "mischievous"):
        half = (0.32 if expression == "laughing" else 0.24) * mw
        right_lift = 0.0 if expression == "laughing" else 0.08
        top = [(-half + fs, y - 0.06), (half + fs, y - 0.06 - right_lift)]
        brush.poly([*top, *brush.arc(fs, y - 0.06, half, 0.26, 0, 180)[1:-1]], _DARK_MOUTH, lips)
        brush.poly(
            [top[0], top[1], (half * 0.8 + fs, y + 0.02 - right_lift), (-half * 0.8 + fs, y + 0.02)],
            _WHITE,
            False,
        )
    elif expression == "surprised":
        brush.ellipse(fs, y + 0.04, 0.1 * mw, 0.14, _DARK_MOUTH, lips)
    elif expression == "smiling":
        curve((-0.3, y - 0.06), (0, y + 0.08), (0.3, y - 0.06), 0.07)
    elif expression == "confident":
        curve((-0.24, y + 0.02), (0.02, y + 0.04), (0.28, y - 0.06))
    elif expression == "sad":
        curve((-0.26, y + 0.08), (0, y - 0.03), (0.26, y + 0.08))
    elif expression == "angry":
        brush.poly(
            [
                (-0.26 * mw + fs, y + 0.06),
                (0 + fs, y - 0.04),
                (0.26 * mw + fs, y + 0.06),
                (0 + fs, y + 0.04),
            ],
            _WHITE,
            lips,
        )
    elif expression == "thoughtful":
        curve((0.0, y + 0.02), (0.14, y + 0.03), (0.26, y))
    elif expression in ("serious", "tired"):
        curve((-0.22, y + (0.03 if expression == "tired" else 0)), (0, y), (0.22, y + 0.03), 0.05)
    else:
        curve((-0.22, y), (0, y + 0.02), (0.22, y))
    if expression not in ("laughing", "mischievous", "surprised", "angry"):  # the lower lip's shadow
        brush.line(brush.arc(fs, y + 0.08, 0.1 * mw, 0.02 + 0.03 * f.lips, 30, 150), _shade(lips, 0.85), 0.03)
    if look.ethnicity == "orc":
        for side in (-1, 1):
            brush.poly(
                [(side * 0.3 + fs, y + 0.08), (side * 0.16 + fs, y + 0.08), (side * 0.24 + fs, y - 0.22)],
                _TUSK,
            )


_PROFILE_CORNER = {"smiling": -0.07, "laughing": -0.06, "confident": -0.04, "sad": 0.06, "angry": 0.05}


def _profile_mouth(brush: _Brush, look: _Look) -> None:
    f, d, expression = look.face, _side(look), look.expression
    lips = _mix(look.skin, _MOUTH, 0.75 if look.gender == "female" else 0.6)
    y = f.mouth_y
    if expression in ("laughing", "surprised", "mischievous"):
        _profile(brush, look, [(0.92, y - 0.04), (0.72, y), (0.9, y + 0.1)], _DARK_MOUTH)
    else:
        corner = _PROFILE_CORNER.get(expression, 0.01)
        brush.line([(d * 0.91, y), (d * 0.82, y + 0.01), (d * 0.72, y + corner)], lips, 0.045)
    if look.ethnicity == "orc":
        _profile(brush, look, [(0.86, y + 0.08), (0.76, y + 0.08), (0.82, y - 0.2)], _TUSK)
