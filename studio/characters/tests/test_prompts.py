from __future__ import annotations

import pytest

from studio.characters import vocabulary
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
    for attribute in vocabulary.ATTRIBUTES:
        assert attribute.choices[1].phrase.lower() in text.lower(), attribute.name


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
