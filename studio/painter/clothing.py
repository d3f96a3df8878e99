"""What the character wears on the head and face: hats, glasses, jewellery and the like."""

from __future__ import annotations

import math

from .canvas import _GOLD, _INK, _SILVER, _WHITE, _Brush, _lighten, _mix, _shade
from .look import _accent, _Look


def _hood(brush: _Brush, look: _Look) -> None:
    if look.clothing in ("hoodie", "cloak"):
        hood = _shade(look.clothes, 0.78)
        brush.poly([*brush.arc(0, 0.1, 1.6, 1.75, 180, 360), (1.7, 2.4), (-1.7, 2.4)], hood)


def _outfit(brush: _Brush, look: _Look, w: float, torso_top: float) -> None:
    """The details of each kind of clothing over the torso (w: half the shoulder width)."""
    skin, cc, clothing = look.skin, look.clothes, look.clothing
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


def _profile_props(brush: _Brush, look: _Look) -> None:
    """Glasses and the like seen from the side: one lens at the eye, the arm back to the ear."""
    acc, f, d = look.accessories, look.face, 1 if look.shot.turn >= 0 else -1
    if "glasses" in acc or "sunglasses" in acc:
        colour = _INK if "glasses" in acc else (20, 20, 26)
        if "sunglasses" in acc:
            brush.poly(
                [(d * 0.45, f.eye_y - 0.15), (d * 0.8, f.eye_y - 0.15), (d * 0.75, f.eye_y + 0.2)], colour
            )
        else:
            brush.line(brush.arc(d * 0.68, f.eye_y, 0.1, 0.22), colour, 0.05)
        brush.line([(d * 0.62, f.eye_y - 0.05), (d * -0.1, f.eye_y - 0.08)], colour, 0.04)
    if "eyepatch" in acc:
        brush.ellipse(d * 0.66, f.eye_y, 0.14, 0.22, _INK)
        brush.line([(d * 0.6, f.eye_y - 0.1), (d * -1.0, -0.55)], _INK, 0.05)
    if "piercings" in acc:
        brush.dots([(d * -0.05, -0.05), (d * -0.08, 0.05)], 0.035, _SILVER)


def _head_props(brush: _Brush, look: _Look) -> None:
    acc, fs, f = look.accessories, look.fs, look.face
    ears = [(side * 1.02, 0.52) for side in (-1, 1)]
    if look.view in ("profile", "back"):
        if look.view == "profile":
            _profile_props(brush, look)
            ears = [((1 if look.shot.turn >= 0 else -1) * -0.12, 0.5)]
        acc = acc - {"piercings", "glasses", "sunglasses", "eyepatch"}
    elif abs(look.shot.turn) > 0.4:
        ears = [(x + fs * 0.5, y) for x, y in ears if x * look.shot.turn < 0]
    if "piercings" in acc:
        brush.dots([(0.14 + fs, 0.48), (0.62 + fs, -0.3), (0.66 + fs, -0.2)], 0.035, _SILVER)
        brush.line(brush.arc(0.14 + fs, 0.84, 0.06, 0.06, 0, 200), _SILVER, 0.025)
    if "earrings" in acc:
        for x, y in ears:
            brush.line(brush.arc(x, y, 0.09, 0.11), _GOLD, 0.035)
    if "glasses" in acc:
        gap, ey = f.eye_gap, f.eye_y
        for side in (-1, 1):
            brush.line(brush.arc(side * gap + fs, ey, 0.28, 0.24), _INK, 0.05)
            brush.line([(side * (gap + 0.28) + fs, ey - 0.05), (side * 1.0, ey - 0.1)], _INK, 0.04)
        brush.line([(-(gap - 0.28) + fs, ey - 0.03), ((gap - 0.28) + fs, ey - 0.03)], _INK, 0.04)
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
