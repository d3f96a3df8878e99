"""Who is painted and how this picture shows them.

A character's identity (face shape, where its features sit and how big they are, their shapes, its build) is
drawn from an identity seed, so every picture of one character shows the same face. A picture's own seed only
chooses the shot: the view and how far the head turns and tilts, the expression (unless one is asked for or
set on the character), the gaze and the framing.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from studio.characters import vocabulary as v

from .canvas import Point

VIEWS = ("front", "three_quarter", "profile", "back")
# What a character's identity is made of besides its name: not its colours, clothes, hair or age, which
# may change (and which the painter shows as they are).
IDENTITY_ATTRIBUTES = ("gender", "ethnicity")
# Expressions the seed picks from when neither the caller nor the character chose one; calm ones weigh more.
_SEED_EXPRESSIONS = (
    *("neutral",) * 3,
    *("smiling",) * 3,
    "confident",
    "thoughtful",
    "serious",
    "laughing",
    "mischievous",
    "surprised",
)
_POSE_VIEWS = {"three_quarter": "three_quarter", "profile": "profile", "over_shoulder": "three_quarter"}


@dataclass(frozen=True)
class _Identity:
    """The character's own face and build, in head units (1 = half the head's width)."""

    head_w: float  # horizontal scale of the skull
    head_h: float  # half the head's height
    jaw: float  # superellipse exponent of the lower face: higher is squarer
    chin: float  # how far the chin drops below the jaw line
    eye_gap: float  # centre of each eye from the middle of the face
    eye_y: float
    eye_rx: float
    eye_ry: float
    eye_tilt: float  # outer corners up (+) or down (-)
    iris: float  # iris radius as a share of the eye's width
    hooded: bool
    brow_y: float
    brow_w: float  # stroke width
    brow_arch: float
    nose: str  # straight, button, hooked or broad
    nose_len: float  # where the tip sits
    nose_w: float
    mouth_y: float
    mouth_w: float  # scale of the mouth's width
    lips: float  # 0 thin .. 1 full
    ear: float
    neck: float
    shoulders: float
    freckles: float  # the draw that decides freckles; hair colour sets the threshold
    mole: Point | None
    part: int  # which side the hair parts on
    skin_shift: tuple[int, int, int]
    hair_shift: tuple[int, int, int]
    clothes_shift: tuple[int, int, int]


@dataclass(frozen=True)
class _Shot:
    view: str
    turn: float  # -1 (facing the viewer's left) .. 0 (front) .. 1 (facing the viewer's right)
    tilt: float  # degrees
    gaze: Point
    expression: str
    zoom: float
    dx: float  # framing offset, in image widths
    dy: float

    @property
    def shift(self) -> float:
        """How far the turn moves the features across the face, in head units."""
        return self.turn * 0.36


def character_identity_seed(values: Mapping[str, Any], name: str = "") -> int:
    """A stable identity seed from a character's name and the attributes that make its face.

    Changing its clothes, hair, age or art style keeps the face; two characters differ by name.
    """
    name = name or (values.get("name") if isinstance(values.get("name"), str) else "") or ""
    parts = [" ".join(name.casefold().split())]
    for attribute in IDENTITY_ATTRIBUTES:
        raw = values.get(attribute)
        parts.append(raw if isinstance(raw, str) and v.BY_NAME[attribute].get(raw) else "")
    digest = hashlib.blake2b("|".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def _shifted(rng: random.Random, amount: int) -> tuple[int, int, int]:
    return (rng.randint(-amount, amount), rng.randint(-amount, amount), rng.randint(-amount, amount))


def make_identity(seed: int, gender: str, body_type: str) -> _Identity:
    rng = random.Random(f"identity:{seed}")
    jaw = {"male": 2.6, "female": 1.9}.get(gender, 2.2) + rng.uniform(-0.4, 0.4)
    if body_type == "heavyset":
        jaw = max(jaw, 2.8)
    eye_rx = rng.uniform(0.17, 0.27)
    mole = (rng.uniform(-0.62, 0.62), rng.uniform(0.3, 0.85))
    return _Identity(
        head_w=rng.uniform(0.88, 1.05),
        head_h=rng.uniform(1.14, 1.35),
        jaw=jaw,
        chin=rng.uniform(-0.03, 0.1),
        eye_gap=rng.uniform(0.35, 0.45),
        eye_y=rng.uniform(0.0, 0.1),
        eye_rx=eye_rx,
        eye_ry=eye_rx * rng.uniform(0.45, 0.8),
        eye_tilt=rng.uniform(-0.05, 0.06),
        iris=rng.uniform(0.46, 0.6),
        hooded=rng.random() < 0.3,
        brow_y=rng.uniform(-0.32, -0.15),
        brow_w=rng.uniform(0.045, 0.11) * (1.25 if gender == "male" else 1.0),
        brow_arch=rng.uniform(-0.08, 0.03),
        nose=rng.choice(("straight", "button", "hooked", "broad")),
        nose_len=rng.uniform(0.42, 0.6),
        nose_w=rng.uniform(0.07, 0.17),
        mouth_y=rng.uniform(0.68, 0.84),
        mouth_w=rng.uniform(0.75, 1.3),
        lips=rng.random(),
        ear=rng.uniform(0.85, 1.2),
        neck=rng.uniform(-0.05, 0.05),
        shoulders=rng.uniform(0.94, 1.06),
        freckles=rng.random(),
        mole=mole if rng.random() < 0.4 else None,
        part=rng.choice((-1, 1)),
        skin_shift=_shifted(rng, 4),
        hair_shift=_shifted(rng, 4),
        clothes_shift=_shifted(rng, 4),
    )


def make_shot(seed: int, pose: str, set_expression: str, expression: str | None, view: str | None) -> _Shot:
    """The picture's own choices. Every draw happens whatever the arguments, so one seed frames alike."""
    rng = random.Random(f"{seed}:shot")
    side = rng.choice((-1, 1))
    turn_draw = rng.uniform(-1.0, 1.0)
    tilt = rng.uniform(-7.0, 7.0) * (2.0 if pose == "action" else 1.0)
    gaze = (rng.uniform(-0.035, 0.035), rng.uniform(-0.02, 0.02))
    seeded_expression = rng.choice(_SEED_EXPRESSIONS)
    zoom, dx, dy = rng.uniform(0.94, 1.08), rng.uniform(-0.015, 0.015), rng.uniform(-0.012, 0.012)
    asked = view in VIEWS
    chosen = view if asked and view else _POSE_VIEWS.get(pose, "front")
    if chosen == "front":
        turn = turn_draw * (0.05 if asked else 0.3)
    elif chosen == "three_quarter":
        # A character sheet asks for its views: they all face one way, as on a model sheet.
        turn = (1 if asked else side) * (0.58 + turn_draw * 0.06)
    elif chosen == "profile":
        turn = 1.0 if asked else float(side)
    else:
        turn = 0.0
    if asked:  # a sheet's views stand straight, with a little life
        tilt *= 0.25
    asked_face = expression if expression and v.EXPRESSION.get(expression) else ""
    return _Shot(chosen, turn, tilt, gaze, asked_face or set_expression or seeded_expression, zoom, dx, dy)
