"""The vocabulary values read into a look: keys, colours and every default filled in."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from studio.characters import vocabulary as v

from .canvas import _DEFAULT_HAIR, _GREY_HAIR, RGB, _jitter, _luma, _mix
from .identity import _Identity, _Shot, character_identity_seed, make_identity, make_shot

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
    face: _Identity
    shot: _Shot

    @property
    def fs(self) -> float:
        """How far the head's turn moves the features sideways."""
        return self.shot.shift

    @property
    def view(self) -> str:
        return self.shot.view


def _tone(colour: RGB, shift: tuple[int, int, int]) -> RGB:
    return (
        max(0, min(255, colour[0] + shift[0])),
        max(0, min(255, colour[1] + shift[1])),
        max(0, min(255, colour[2] + shift[2])),
    )


def _resolve(
    values: Mapping[str, Any],
    seed: int,
    *,
    identity_seed: int | None = None,
    expression: str | None = None,
    view: str | None = None,
) -> _Look:
    """The look of one picture: the character's identity (from identity_seed, else from the character
    itself) and this picture's shot (from seed); an expression or view asked for wins over both."""
    rng = random.Random(f"{seed}:layout")
    gender = _key(values, v.GENDER)
    body_type = _key(values, v.BODY_TYPE, "average")
    if identity_seed is None:
        identity_seed = character_identity_seed(values)
    face = make_identity(int(identity_seed), gender, body_type)
    pose = _key(values, v.POSE, "front")
    shot = make_shot(seed, pose, _key(values, v.EXPRESSION), expression, view)
    age = _key(values, v.AGE, "young_adult")
    ethnicity = _key(values, v.ETHNICITY)
    fantasy_skin = {"orc": "green", "elf": "fair"}.get(ethnicity, "light")
    skin = _tone(_rgb(v.SKIN_TONE, _key(values, v.SKIN_TONE, fantasy_skin)), face.skin_shift)

    eye_key = _key(values, v.EYE_COLOR, "brown")
    if eye_key == "heterochromia":
        eyes = (_rgb(v.EYE_COLOR, "blue"), _rgb(v.EYE_COLOR, "brown"))
    else:
        eyes = (_rgb(v.EYE_COLOR, eye_key),) * 2

    hair_key = _key(values, v.HAIR_COLOR)
    hair = _tone(_rgb(v.HAIR_COLOR, hair_key), face.hair_shift) if hair_key else _DEFAULT_HAIR
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
        body_type=body_type,
        clothing=_key(values, v.CLOTHING, "tshirt_jeans"),
        clothes=_tone(_rgb(v.CLOTHING_COLOR, _key(values, v.CLOTHING_COLOR, "navy")), face.clothes_shift),
        clothing_style=_key(values, v.CLOTHING_STYLE),
        accessories=_keys(values, v.ACCESSORIES),
        expression=shot.expression,
        pose=pose,
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
        face=face,
        shot=shot,
    )


def _accent(look: _Look, fallback: RGB) -> RGB:
    """A detail colour (hat, scarf, tie) that follows the dominant colours when there are any."""
    for colour in look.palette:
        if abs(_luma(colour) - _luma(look.clothes)) > 40:
            return colour
    return fallback
