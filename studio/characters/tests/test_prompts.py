from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studio import painter
from studio.characters import vocabulary
from studio.characters import vocabulary as v
from studio.characters.prompts import PromptTooLongError, build_prompt, check_length


def test_it_builds_the_same_prompt_for_the_same_values():
    values = {"gender": "female", "hair_color": "red", "accessories": ["hat", "glasses"]}
    assert build_prompt(values) == build_prompt(dict(reversed(list(values.items()))))


def test_it_orders_multi_valued_attributes_by_vocabulary_not_by_selection():
    first = build_prompt({"accessories": ["hat", "glasses"]})
    second = build_prompt({"accessories": ["glasses", "hat"]})
    assert first.text == second.text
    assert "glasses and a wide-brimmed hat" in first.text


def test_it_uses_every_filled_attribute():
    values = {}
    for attribute in vocabulary.ATTRIBUTES:
        values[attribute.name] = (
            [attribute.choices[1].key] if attribute.multiple else attribute.choices[1].key
        )
    text = build_prompt(values).text
    hair = (v.HAIR_COLOR.name, v.HAIR_STYLE.name)
    for attribute in vocabulary.ATTRIBUTES:
        if attribute.name not in hair:
            assert attribute.choices[1].phrase.lower() in text.lower(), attribute.name
    assert "a dark brown buzz cut" in text, "the hair colour and style make one phrase"


def test_it_emits_nothing_for_blank_attributes():
    prompt = build_prompt({"gender": "", "hair_color": "", "accessories": []})
    assert prompt.text == "Portrait of a person."
    assert prompt.negative == ""


def test_it_writes_readable_sentences():
    prompt = build_prompt(
        {
            "gender": "male",
            "age": "elderly",
            "hair_color": "white",
            "facial_hair": "long_beard",
            "clothing": "robes",
            "clothing_color": "grey",
            "expression": "smiling",
            "background": "castle",
        }
    )
    # The subject and its looks are one sentence, not "...man. With white hair".
    assert prompt.text.startswith("Portrait of an elderly man with white hair and a long flowing beard.")
    assert "Wearing flowing robes in grey." in prompt.text
    assert all(sentence[0].isupper() for sentence in prompt.text.split(". ") if sentence)


def test_it_ignores_unknown_keys_instead_of_sending_them():
    prompt = build_prompt({"hair_color": "<script>", "gender": "robot"})
    assert "<script>" not in prompt.text
    assert "robot" not in prompt.text


def test_it_includes_distinguishing_features_and_the_negative_prompt():
    prompt = build_prompt(
        {"distinguishing_features": "a  scar over\nthe eye", "negative_prompt": " blurry  , text"}
    )
    assert "A scar over the eye." in prompt.text
    assert prompt.negative == "blurry , text"


def test_it_rejects_a_prompt_over_the_length_limit(settings):
    settings.PROMPT_MAX_LENGTH = 50
    prompt = build_prompt({"distinguishing_features": "x" * 60})
    with pytest.raises(PromptTooLongError) as caught:
        check_length(prompt)
    assert "limit is 50" in str(caught.value)
    check_length(build_prompt({}))


# --- grammar: the subject and its looks -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "sentence"),
    [
        ({"gender": "female", "hair_color": "red"}, "Portrait of a woman with red hair."),
        ({"gender": "female", "hair_style": "wavy"}, "Portrait of a woman with long wavy hair."),
        (
            {"gender": "female", "hair_color": "red", "hair_style": "wavy"},
            "Portrait of a woman with long wavy red hair.",
        ),
        (
            {"gender": "male", "hair_color": "red", "hair_style": "wavy", "facial_hair": "none"},
            "Portrait of a clean-shaven man with long wavy red hair.",
        ),
        (
            {"gender": "male", "hair_color": "red", "hair_style": "wavy", "facial_hair": "full_beard"},
            "Portrait of a man with long wavy red hair and a full beard.",
        ),
        ({"gender": "male", "facial_hair": "none"}, "Portrait of a clean-shaven man."),
        ({"gender": "male", "facial_hair": "stubble"}, "Portrait of a man with light stubble."),
        ({"hair_color": "red", "facial_hair": "none"}, "Portrait of a clean-shaven person with red hair."),
        (
            {
                "gender": "male",
                "age": "elderly",
                "facial_hair": "none",
                "hair_style": "short",
                "hair_color": "grey",
            },
            "Portrait of a clean-shaven elderly man with short well-groomed grey hair.",
        ),
        (
            {"gender": "male", "age_years": 8, "facial_hair": "moustache", "hair_color": "black"},
            "Portrait of an 8-year-old man with black hair and a moustache.",
        ),
        (
            {
                "gender": "male",
                "ethnicity": "caucasian",
                "skin_tone": "olive",
                "eye_color": "green",
                "hair_color": "auburn",
                "hair_style": "pixie",
                "facial_hair": "none",
            },
            "Portrait of a clean-shaven man of European descent with olive skin, green eyes and an auburn"
            " pixie cut.",
        ),
        (
            {
                "gender": "female",
                "eye_color": "blue",
                "hair_style": "bun",
                "hair_color": "blonde",
                "body_type": "athletic",
            },
            "Portrait of a woman with blue eyes, blonde hair tied up in a bun and an athletic build.",
        ),
        (
            {
                "gender": "female",
                "hair_color": "silver",
                "hair_style": "braids",
                "accessories": ["glasses", "earrings"],
            },
            "Portrait of a woman with long silver braids. Accessories: glasses and earrings.",
        ),
        (
            {"gender": "female", "ethnicity": "elf", "hair_color": "platinum", "hair_style": "long"},
            "Portrait of a woman with elven features, pointed ears and long straight platinum blonde hair.",
        ),
        ({"ethnicity": "orc"}, "Portrait of a person with orcish features and small tusks."),
        (
            {"eye_color": "heterochromia", "hair_color": "blue", "hair_style": "undercut"},
            "Portrait of a person with heterochromatic eyes (one brown, one blue) and a dyed blue undercut.",
        ),
        # No hair to colour: the colour is left out rather than contradict the style.
        (
            {"gender": "male", "hair_color": "red", "hair_style": "bald", "facial_hair": "full_beard"},
            "Portrait of a man with a bald head and a full beard.",
        ),
        ({"body_type": "tall_lanky"}, "Portrait of a person with a tall, lanky frame."),
        ({"art_style": "photorealistic"}, "Photorealistic portrait of a person."),
        ({"art_style": "oil_painting"}, "Oil painting, portrait of a person."),
        (
            {"art_style": "photorealistic", "camera": "headshot"},
            "Photorealistic portrait, close-up headshot of a person.",
        ),
    ],
)
def test_it_writes_the_subject_and_its_looks_as_one_grammatical_sentence(values, sentence):
    assert build_prompt(values).text == sentence


def test_every_hair_style_takes_a_colour_in_one_phrase():
    assert set(v.HAIR_STYLE_WITH_COLOUR) == {choice.key for choice in v.HAIR_STYLE.choices}
    assert all(choice.phrase.endswith(" hair") for choice in v.HAIR_COLOR.choices), "the colour's adjective"
    assert v.hair_phrase("auburn", "buzz_cut") == "an auburn buzz cut"
    assert v.hair_phrase("red", "undercut") == "a red undercut"
    assert v.hair_phrase("pink", "dreadlocks") == "shoulder-length pastel pink locs"
    assert v.hair_phrase("red", "") == "red hair" and v.hair_phrase("", "afro") == "a full afro"
    assert v.hair_phrase("<b>", "nonsense") == "", "unknown keys add nothing"
    assert v.hair_phrase(["red"], {"x": 1}) == "", "nor do values that are not keys"


def _article_for(word: str) -> str:
    """By sound: "an 8-", "an 11-", "an 18-", "an 80-year-old", "a 110-year-old", "an auburn", "a red"."""
    if number := re.match(r"\d+", word):
        spoken_with_a_vowel = {8, 11, 18} | set(range(80, 90))
        return "an" if int(number[0]) in spoken_with_a_vowel else "a"
    return "an" if word[0].lower() in "aeiou" else "a"


def _grammar_problems(text: str) -> list[str]:
    """What reads wrong in a built prompt; the first sentence is the subject and its looks."""
    problems = []
    first = text.split(". ")[0]
    for bad in ("  ", "..", " ,", ",,", " .", ", .", ", and", "and clean-shaven", "with clean-shaven"):
        if bad in text:
            problems.append(f"{bad!r} in the text")
    if len(re.findall(r"\bhair\b", first)) > 1:
        problems.append("hair named twice")
    if first.count(" with ") > 1:
        problems.append('"with" twice')
    if first.count(" and ") > 1:
        problems.append('"and" twice in one list')
    if repeated := re.search(r"\b(\w+)\W+\1\b", text, flags=re.IGNORECASE):
        problems.append(f"{repeated[0]!r} doubled")
    for article, word in re.findall(r"\b(a|an) (\w+)", text, flags=re.IGNORECASE):
        if article.lower() != _article_for(word):
            problems.append(f"{article} {word}")
    if text[0].islower() or not text.endswith("."):
        problems.append("not sentences")
    return problems


def _looks(colour: str, style: str, facial: str) -> dict[str, str]:
    return {"hair_color": colour, "hair_style": style, "facial_hair": facial}


def _keys(attribute: v.Attribute) -> list[str]:
    return ["", *(choice.key for choice in attribute.choices)]


def test_every_hair_and_facial_hair_combination_reads_well_and_the_painter_reads_it_back():
    for colour, style, facial in itertools.product(
        _keys(v.HAIR_COLOR), _keys(v.HAIR_STYLE), _keys(v.FACIAL_HAIR)
    ):
        values = {"gender": "male", **_looks(colour, style, facial)}
        text = build_prompt(values).text
        assert _grammar_problems(text) == [], text
        # The offline painter paints a Remix of a character's portrait from this text.
        read = painter.read_prompt(text).values
        expected = {name: key for name, key in values.items() if key}
        if style == "bald":
            expected.pop("hair_color", None)  # no hair to colour
        assert {name: read.get(name) for name in expected} == expected, text


def _any_values() -> st.SearchStrategy[dict]:
    fields = {
        attribute.name: (
            st.lists(st.sampled_from([choice.key for choice in attribute.choices]), unique=True, max_size=4)
            if attribute.multiple
            else st.sampled_from(_keys(attribute))
        )
        for attribute in v.ATTRIBUTES
    }
    fields["age_years"] = st.one_of(st.none(), st.integers(min_value=0, max_value=v.MAX_AGE_YEARS))
    return st.fixed_dictionaries(fields)


@settings(max_examples=400, deadline=None)
@given(values=_any_values())
def test_any_combination_of_vocabulary_values_reads_as_plain_sentences(values):
    text = build_prompt(values).text
    assert _grammar_problems(text) == [], text
    read = painter.read_prompt(text).values
    for name in ("gender", "hair_style", "facial_hair", "eye_color", "skin_tone", "body_type"):
        assert read.get(name) == (values[name] or None), (name, text)
    if values["hair_style"] != "bald":
        assert read.get("hair_color") == (values["hair_color"] or None), text
