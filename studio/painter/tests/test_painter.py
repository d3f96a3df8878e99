from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from studio import painter
from studio.characters import vocabulary as v

SIZE = 256
BASE = {
    "gender": "male",
    "hair_style": "short",
    "hair_color": "black",
    "eye_color": "brown",
    "skin_tone": "fair",
}


def paint(seed: int = 7, size: int = SIZE, **values: Any) -> np.ndarray:
    return np.asarray(painter.render({**BASE, **values}, seed, size)).astype(int)


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a - b).sum(axis=2) > 30


def median_colour(pixels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.median(pixels[mask], axis=0)


def assert_close(colour: Any, rgb: tuple[int, int, int] | None, tolerance: int = 22) -> None:
    assert rgb is not None
    assert np.abs(np.asarray(colour, dtype=int) - rgb).max() <= tolerance, (tuple(colour), rgb)


def rgb_of(attribute: v.Attribute, key: str) -> tuple[int, int, int] | None:
    choice = attribute.get(key)
    return choice.rgb if choice else None


def test_it_names_its_model():
    assert painter.MODEL_NAME == "painter-v1"


def test_it_paints_the_same_bytes_for_the_same_values_and_seed():
    values = {
        "hair_color": "auburn",
        "hair_style": "wavy",
        "accessories": ["glasses", "hat"],
        "texture": "grainy",
    }
    assert painter.render_png(values, 42, SIZE) == painter.render_png(dict(values), 42, SIZE)


def test_it_paints_a_visibly_different_picture_for_another_seed():
    first, second = paint(seed=1, background="forest"), paint(seed=2, background="forest")
    assert changed(first, second).mean() > 0.02


@pytest.mark.parametrize("hair", ["red", "blonde", "blue", "platinum"])
def test_it_colours_the_hair_with_the_chosen_hair_colour(hair):
    coloured, black = paint(hair_color=hair), paint(hair_color="black")
    mask = changed(coloured, black)
    assert_close(median_colour(coloured, mask), rgb_of(v.HAIR_COLOR, hair))
    rows = np.nonzero(mask)[0]
    assert rows.mean() < SIZE * 0.4  # the top of the head, not the clothes
    assert_close(coloured[int(SIZE * 0.23), SIZE // 2], rgb_of(v.HAIR_COLOR, hair))


@pytest.mark.parametrize("skin", ["porcelain", "olive", "deep", "blue"])
def test_it_paints_the_face_in_the_chosen_skin_tone(skin):
    pixels = paint(skin_tone=skin)
    assert_close(pixels[int(SIZE * 0.42), SIZE // 2], rgb_of(v.SKIN_TONE, skin))
    assert_close(median_colour(pixels, changed(pixels, paint(skin_tone="tan"))), rgb_of(v.SKIN_TONE, skin))


@pytest.mark.parametrize("eyes", ["green", "blue", "violet", "red"])
def test_it_colours_the_irises_with_the_chosen_eye_colour(eyes):
    coloured, brown = paint(eye_color=eyes), paint(eye_color="brown")
    mask = changed(coloured, brown)
    assert_close(median_colour(coloured, mask), rgb_of(v.EYE_COLOR, eyes))
    rows = np.nonzero(mask)[0]
    assert rows.min() > SIZE * 0.35 and rows.max() < SIZE * 0.5  # only at eye level


def test_it_gives_heterochromatic_eyes_two_colours():
    pixels = paint(eye_color="heterochromia")
    mask = changed(pixels, paint(eye_color="grey"))
    left, right = mask.copy(), mask.copy()
    left[:, SIZE // 2 :] = False
    right[:, : SIZE // 2] = False
    assert_close(median_colour(pixels, left), rgb_of(v.EYE_COLOR, "blue"))
    assert_close(median_colour(pixels, right), rgb_of(v.EYE_COLOR, "brown"))


@pytest.mark.parametrize("colour", ["red", "white", "olive", "gold"])
def test_it_dresses_the_torso_in_the_chosen_clothing_colour(colour):
    pixels = paint(clothing_color=colour)
    mask = changed(pixels, paint(clothing_color="navy"))
    assert_close(median_colour(pixels, mask), rgb_of(v.CLOTHING_COLOR, colour))
    assert np.nonzero(mask)[0].mean() > SIZE * 0.75
    assert_close(pixels[int(SIZE * 0.92), SIZE // 2], rgb_of(v.CLOTHING_COLOR, colour))


@pytest.mark.parametrize("background", ["plain", "forest", "space", "beach", "desert", "night_city"])
def test_it_paints_the_chosen_background_colour_into_the_corner(background):
    pixels = paint(background=background)
    corner = pixels[: SIZE // 25, : SIZE // 25].reshape(-1, 3)
    assert_close(np.median(corner, axis=0), rgb_of(v.BACKGROUND, background), tolerance=12)


def test_it_decorates_each_background_differently():
    pictures = {painter.render_png({"background": choice.key}, 3, 64) for choice in v.BACKGROUND.choices}
    assert len(pictures) == len(v.BACKGROUND.choices)


@pytest.mark.parametrize("expression", [c.key for c in v.EXPRESSION.choices if c.key != "neutral"])
def test_it_shows_the_expression_on_the_face(expression):
    mask = changed(paint(expression=expression), paint(expression="neutral"))
    assert mask.any()
    rows, cols = np.nonzero(mask)
    assert rows.min() > SIZE * 0.2 and rows.max() < SIZE * 0.65
    assert cols.min() > SIZE * 0.3 and cols.max() < SIZE * 0.7


def test_it_gives_every_expression_its_own_face():
    faces = {painter.render_png({"expression": choice.key}, 5, 128) for choice in v.EXPRESSION.choices}
    assert len(faces) == len(v.EXPRESSION.choices)


@pytest.mark.parametrize("accessory", [c.key for c in v.ACCESSORIES.choices])
def test_it_draws_each_accessory(accessory):
    assert changed(paint(accessories=[accessory]), paint()).sum() > 20


@pytest.mark.parametrize(
    "attribute", [v.HAIR_STYLE, v.FACIAL_HAIR, v.CLOTHING, v.AGE, v.POSE, v.CAMERA, v.BODY_TYPE, v.GENDER]
)
def test_it_draws_every_choice_of_a_shape_attribute_differently(attribute):
    pictures = {painter.render_png({attribute.name: choice.key}, 9, 96) for choice in attribute.choices}
    assert len(pictures) == len(attribute.choices)


def test_it_gives_elves_pointed_ears_beside_the_head():
    mask = changed(paint(ethnicity="elf"), paint(ethnicity="caucasian"))
    rows, cols = np.nonzero(mask)
    beside = (cols < SIZE * 0.33) | (cols > SIZE * 0.67)
    assert beside.sum() > 20
    assert rows[beside].min() < SIZE * 0.4  # the tips rise above the ear


def test_it_gives_orcs_green_skin_and_tusks_unless_told_otherwise():
    orc = paint(ethnicity="orc", skin_tone="")
    assert_close(orc[int(SIZE * 0.42), SIZE // 2], rgb_of(v.SKIN_TONE, "green"))
    mask = changed(paint(ethnicity="orc"), paint(ethnicity="caucasian"))
    around_mouth = mask[int(SIZE * 0.5) : int(SIZE * 0.58), int(SIZE * 0.4) : int(SIZE * 0.6)]
    assert around_mouth.sum() > 10


@pytest.mark.parametrize(
    "attribute", [v.ART_STYLE, v.LIGHTING, v.TEXTURE, v.CONTRAST, v.SHADING, v.DOMINANT_COLORS]
)
def test_it_applies_every_image_choice(attribute):
    plain = painter.render_png({}, 4, 64)
    for choice in attribute.choices:
        value = [choice.key] if attribute.multiple else choice.key
        if attribute.name == "contrast" and choice.key == "moderate":
            continue
        assert painter.render_png({attribute.name: value}, 4, 64) != plain, choice.key


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"hair_color": "plaid", "hair_style": "", "eye_color": None, "age": 42},
        {"accessories": "glasses", "dominant_colors": ["nonsense", 3, None]},
        {"accessories": 5, "skin_tone": ["dark"], "background": "moon", "art_style": "cubism"},
        {"unknown_attribute": "x", "expression": "   "},
    ],
)
def test_it_falls_back_to_defaults_for_unknown_or_blank_values(values):
    image = painter.render(values, 1, 64)
    assert image.size == (64, 64)
    assert Image.open(io.BytesIO(painter.sketch_png(values, 64))).size == (64, 64)


@pytest.mark.parametrize("size", [64, 256, 1024])
def test_it_paints_a_square_rgb_portrait_of_the_requested_size(size):
    image = Image.open(io.BytesIO(painter.render_png({"hair_color": "red"}, 1, size)))
    assert image.format == "PNG"
    assert image.size == (size, size)
    assert image.mode == "RGB"


def test_it_refuses_an_absurd_size():
    with pytest.raises(ValueError, match="between"):
        painter.render({}, 1, 4)


def test_it_sketches_a_256_pixel_png_for_the_live_preview():
    values = {"hair_color": "blue", "hair_style": "afro", "accessories": ["crown"], "background": "space"}
    sketch = Image.open(io.BytesIO(painter.sketch_png(values)))
    assert sketch.format == "PNG"
    assert sketch.size == (256, 256)
    pixels = np.asarray(sketch.convert("RGB")).astype(int)
    assert_close(pixels[int(256 * 0.2), int(256 * 0.3)], rgb_of(v.HAIR_COLOR, "blue"))


def test_it_sketches_the_same_bytes_every_time_and_changes_with_the_values():
    values = {"hair_color": "red", "accessories": ["scarf", "glasses"]}
    assert painter.sketch_png(values) == painter.sketch_png({**values, "accessories": ["glasses", "scarf"]})
    assert painter.sketch_png(values) != painter.sketch_png({**values, "hair_color": "green"})


def test_it_reads_hair_and_eye_colour_from_a_free_prompt():
    values = painter.values_from_prompt("A woman with red hair and green eyes")
    assert values == {"gender": "female", "eye_color": "green", "hair_color": "red"}


def test_it_reads_many_attributes_from_a_free_prompt():
    values = painter.values_from_prompt(
        "Elderly man with a full beard and glowing red eyes, wearing a red hoodie and sunglasses, "
        "in outer space, by candlelight."
    )
    assert values["gender"] == "male"
    assert values["age"] == "elderly"
    assert values["facial_hair"] == "full_beard"
    assert values["eye_color"] == "red"
    assert values["clothing"] == "hoodie"
    assert values["clothing_color"] == "red"
    assert values["accessories"] == ["sunglasses"]
    assert values["background"] == "space"
    assert values["lighting"] == "candlelight"
    assert "hair_color" not in values


def test_it_reads_only_vocabulary_keys_from_a_prompt():
    text = (
        "pixel art of a blue-eyed orc with an afro, a hat, a crown and earrings, smiling, neon city at night"
    )
    values = painter.values_from_prompt(text)
    assert values == painter.values_from_prompt(text)
    for name, value in values.items():
        keys = value if v.BY_NAME[name].multiple else [value]
        assert all(v.BY_NAME[name].get(key) for key in keys)
    assert values["accessories"] == ["hat", "crown", "earrings"]
    assert values["eye_color"] == "blue"
    assert values["hair_style"] == "afro"
    assert values["background"] == "night_city"
    assert painter.values_from_prompt("") == {}
