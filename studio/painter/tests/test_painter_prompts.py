from __future__ import annotations

from studio import painter
from studio.portraits.providers import GenerationRequest, get_provider

ASTRONAUT = "a child astronaut floating in space, pixel art"


def test_it_reads_a_free_prompt_for_the_vocabulary_and_names_what_it_cannot_draw():
    reading = painter.read_prompt(ASTRONAUT)

    assert reading.values == {
        "age": "child",
        "clothing": "spacesuit",
        "art_style": "pixel_art",
        "background": "space",
    }
    assert reading.not_drawn == ("floating",)


def test_it_reads_everyday_words_for_species_hair_and_clothes():
    reading = painter.read_prompt("An orc warrior in armour with a sword, blonde, oil painting; an orc again")

    assert reading.values["ethnicity"] == "orc"
    assert reading.values["clothing"] == "armor"
    assert reading.values["hair_color"] == "blonde"
    assert reading.values["accessories"] == ["sword"]
    assert reading.values["art_style"] == "oil_painting"
    assert reading.not_drawn == ("warrior", "again")


def test_it_reads_the_hair_and_age_as_the_prompt_builder_writes_them():
    reading = painter.read_prompt("Portrait of a clean-shaven 40-year-old man with shoulder-length red locs.")

    # One phrase names the style and the colour: not "shoulder-length" (a style of its own) and a red outfit.
    assert reading.values == {
        "gender": "male",
        "age": "adult",
        "hair_color": "red",
        "hair_style": "dreadlocks",
        "facial_hair": "none",
    }
    assert reading.not_drawn == ()
    assert painter.read_prompt("an 8-year-old with an auburn pixie cut").values == {
        "age": "child",  # not "old", elderly
        "hair_color": "auburn",
        "hair_style": "pixie",
    }
    assert painter.read_prompt("auburn pixie cut").values == {"hair_color": "auburn", "hair_style": "pixie"}


def test_the_local_provider_paints_the_prompt_and_reports_what_it_could_not_draw():
    local = get_provider("local")
    result = local.generate(GenerationRequest(prompt=ASTRONAUT, size="64x64", seed=1))
    plain = local.generate(GenerationRequest(prompt="a portrait", size="64x64", seed=1))

    assert result.parameters["not_drawn"] == ["floating"]
    assert "not_drawn" not in plain.parameters
    assert result.images[0].data != plain.images[0].data


def test_the_local_provider_passes_a_sheets_view_expression_and_identity_seed():
    local = get_provider("local")
    attributes = {"gender": "female", "hair_color": "red"}

    def paint(**options: object) -> bytes:
        request = GenerationRequest(prompt="x", size="64x64", seed=3, attributes=attributes, options=options)
        return local.generate(request).images[0].data

    assert paint(view="back") != paint(view="front")
    assert paint(expression="angry") != paint(expression="smiling")
    assert paint(identity_seed=1) != paint(identity_seed=2)
    assert paint(identity_seed=1) == painter.render_png(attributes, 3, 64, identity_seed=1)
