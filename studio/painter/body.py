"""The figure below the head: shoulders, neck, torso, what it holds and how it stands."""

from __future__ import annotations

from .canvas import _GOLD, _SILVER, _Brush, _lighten, _luma, _mirror, _shade
from .clothing import _outfit
from .look import _accent, _Look

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


def _body(brush: _Brush, look: _Look) -> None:
    skin, cc = look.skin, look.clothes
    w = 2.35 * _SHOULDERS[look.body_type] * (0.92 if look.gender == "female" else 1.0) * look.face.shoulders
    w *= 0.82 if look.age == "child" else 1.0
    neck = (0.46 if look.body_type in ("muscular", "stocky", "heavyset") else 0.38) + look.face.neck
    if look.clothing == "cloak":
        w *= 1.12
    neck /= abs(brush.frame.squash)  # a neck seen from the side is as thick as from the front
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
    if look.view == "back":  # a plain back with its collar
        brush.poly([*shoulder, *right, *brush.arc(0, torso_top, 0.5, 0.12, 0, 180)[1:-1]], cc)
        brush.line(brush.arc(0, torso_top, 0.55, 0.16, 0, 180), _shade(cc, 0.7), 0.06)
        return
    brush.poly([*shoulder, *right, *brush.arc(0, torso_top, 0.5, neck_dip - torso_top, 0, 180)[1:-1]], cc)
    _outfit(brush, look, w, torso_top)


def _body_props(brush: _Brush, look: _Look) -> None:
    acc = look.accessories
    if look.view == "back":
        if "backpack" in acc:
            pack = (70, 76, 50)
            brush.poly([(-1.0, 2.3), (1.0, 2.3), (1.1, 4.6), (-1.1, 4.6)], pack)
            brush.poly([(-0.8, 3.4), (0.8, 3.4), (0.85, 4.3), (-0.85, 4.3)], _shade(pack, 0.85))
        return
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
