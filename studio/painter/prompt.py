"""Free prompt text read into vocabulary values, and the words the painter cannot draw.

The vocabulary's phrases and labels are the terms; _EXTRA_PHRASES adds the everyday words people type for
them ("astronaut" for a spacesuit, "blonde" for blonde hair, "space" for an outer-space background).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from studio.characters import vocabulary as v

# --- free text -> values ---------------------------------------------------------------------------

_COLOUR_NOUNS = {
    "hair_color": ("hair", "haired"),
    "eye_color": ("eyes", "eye", "eyed"),
    "skin_tone": ("skin", "skinned"),
}
_CLOTHING_NOUNS = (
    "shirt",
    "t shirt",
    "tshirt",
    "suit",
    "dress",
    "hoodie",
    "jacket",
    "armour",
    "armor",
    "robe",
    "robes",
    "uniform",
    "coat",
    "cloak",
    "kimono",
    "sweater",
    "jumper",
    "spacesuit",
    "outfit",
    "clothes",
)
_EXTRA_PHRASES = {
    "heterochromia": ("eye_color", "heterochromia"),
    "heterochromatic": ("eye_color", "heterochromia"),
    "bearded": ("facial_hair", "full_beard"),
    "beard": ("facial_hair", "full_beard"),
    "moustached": ("facial_hair", "moustache"),
    "mustache": ("facial_hair", "moustache"),
    "smile": ("expression", "smiling"),
    "smiles": ("expression", "smiling"),
    "frowning": ("expression", "sad"),
    "girl": ("gender", "female"),
    "lady": ("gender", "female"),
    "boy": ("gender", "male"),
    "old": ("age", "elderly"),
    "elf": ("ethnicity", "elf"),
    "elven": ("ethnicity", "elf"),
    "orc": ("ethnicity", "orc"),
    "stars": ("background", "space"),
    "pointed ears": ("ethnicity", "elf"),
    "tusks": ("ethnicity", "orc"),
    "orcish": ("ethnicity", "orc"),
    "man": ("gender", "male"),
    "woman": ("gender", "female"),
    "kid": ("age", "child"),
    "teenager": ("age", "teen"),
    "elderly": ("age", "elderly"),
    "blonde": ("hair_color", "blonde"),
    "blond": ("hair_color", "blonde"),
    "redhead": ("hair_color", "red"),
    "brunette": ("hair_color", "brown"),
    "ginger": ("hair_color", "ginger"),
    "astronaut": ("clothing", "spacesuit"),
    "cosmonaut": ("clothing", "spacesuit"),
    "space suit": ("clothing", "spacesuit"),
    "armour": ("clothing", "armor"),
    "armor": ("clothing", "armor"),
    "knight": ("clothing", "armor"),
    "wizard": ("clothing", "robes"),
    "mage": ("clothing", "robes"),
    "scientist": ("clothing", "lab_coat"),
    "doctor": ("clothing", "lab_coat"),
    "soldier": ("clothing", "uniform"),
    "jeans": ("clothing", "tshirt_jeans"),
    "t shirt": ("clothing", "tshirt_jeans"),
    "pirate": ("accessories", "eyepatch"),
    "king": ("accessories", "crown"),
    "queen": ("accessories", "crown"),
    "princess": ("accessories", "crown"),
    "happy": ("expression", "smiling"),
    "grin": ("expression", "mischievous"),
    "space": ("background", "space"),
    "city": ("background", "city"),
    "street": ("background", "city"),
    "sea": ("background", "beach"),
    "ocean": ("background", "beach"),
    "woods": ("background", "forest"),
    "watercolor": ("art_style", "watercolor"),
    "sketch": ("art_style", "pencil_sketch"),
    "photo": ("art_style", "photorealistic"),
    "photograph": ("art_style", "photorealistic"),
    "oil painting": ("art_style", "oil_painting"),
}
# Words that carry no picture of their own: never reported as "could not draw".
_FILLER = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "by",
        "for",
        "to",
        "from",
        "with",
        "and",
        "or",
        "but",
        "into",
        "over",
        "under",
        "near",
        "wearing",
        "wears",
        "wear",
        "who",
        "is",
        "are",
        "was",
        "be",
        "being",
        "has",
        "have",
        "her",
        "his",
        "their",
        "its",
        "my",
        "our",
        "your",
        "this",
        "that",
        "these",
        "those",
        "very",
        "quite",
        "some",
        "one",
        "two",
        "three",
        "portrait",
        "picture",
        "image",
        "drawing",
        "illustration",
        "painting",
        "render",
        "shot",
        "art",
        "style",
        "person",
        "people",
        "character",
        "someone",
        "looking",
        "looks",
        "look",
        "standing",
        "stands",
        "holding",
        "holds",
        "posing",
        "poses",
        "background",
        "front",
        "full",
        "body",
        "head",
        "face",
        "hair",
        "eyes",
        "eye",
        "skin",
        "colour",
        "color",
        "colours",
        "colors",
        "tones",
        "tone",
        "light",
        "lit",
        "lighting",
    ]
)
# Attributes whose bare labels are too generic to match on their own ("Red", "Soft", "Low", ...).
_PHRASE_ONLY = {
    "skin_tone",
    "eye_color",
    "hair_color",
    "clothing_color",
    "dominant_colors",
    "contrast",
    "shading",
    "texture",
    "lens",
    "clothing_style",
}


def _words(text: str) -> str:
    return " " + " ".join(re.sub(r"[^0-9a-z]+", " ", text.casefold()).split()) + " "


def _plain_label(label: str) -> str:
    return label.split("(")[0].split("/")[0]


Target = tuple[tuple[str, str], ...]  # the (attribute, key) pairs a needle names


@lru_cache(maxsize=1)
def _needles() -> tuple[tuple[str, Target, int], ...]:
    """(words, targets, claimed length) to look for, longest first so "glowing red eyes" beats "red".

    A clothing colour matched as "red hoodie" claims only "red", leaving "hoodie" for the clothing. The hair
    as the prompt builder writes it ("long wavy red hair", "shoulder-length red locs") names a style and a
    colour.
    """
    label_owners: dict[str, set[str]] = {}
    for attribute in v.ATTRIBUTES:
        for choice in attribute.choices:
            label_owners.setdefault(_words(_plain_label(choice.label)), set()).add(attribute.name)
    found: dict[str, tuple[Target, int]] = {}
    for attribute in v.ATTRIBUTES:
        for choice in attribute.choices:
            candidates = [choice.phrase]
            label = _words(_plain_label(choice.label))
            if attribute.name not in _PHRASE_ONLY and len(label_owners[label]) == 1:
                candidates.append(label)
            for noun in _COLOUR_NOUNS.get(attribute.name, ()):
                candidates.append(f"{_plain_label(choice.label)} {noun}")
            for candidate in candidates:
                needle = _words(candidate)
                found.setdefault(needle, (((attribute.name, choice.key),), len(needle)))
            if attribute.name == "clothing_color":
                for noun in _CLOTHING_NOUNS:
                    found.setdefault(
                        _words(f"{choice.label} {noun}"), (((attribute.name, choice.key),), len(label))
                    )
    for style in v.HAIR_STYLE.choices:
        for colour in v.HAIR_COLOR.choices:
            # Without its article, so "auburn pixie cut" reads too; a bald head has no colour to read.
            needle = re.sub(r"^ (a|an) ", " ", _words(v.hair_phrase(colour.key, style.key)))
            if needle != _words(style.phrase):
                targets = ((v.HAIR_STYLE.name, style.key), (v.HAIR_COLOR.name, colour.key))
                found.setdefault(needle, (targets, len(needle)))
    for phrase, (name, key) in _EXTRA_PHRASES.items():
        found.setdefault(_words(phrase), (((name, key),), len(_words(phrase))))
    ordered = sorted(found.items(), key=lambda item: (-len(item[0]), item[0]))
    return tuple((needle, *target) for needle, target in ordered if needle.strip())


_YEARS_OLD = re.compile(r"(?<= )(\d{1,3}) years? old(?= )")


@dataclass(frozen=True)
class PromptReading:
    values: dict[str, Any]
    # Words of the prompt the painter does not draw, in the order they came, each once.
    not_drawn: tuple[str, ...]


def values_from_prompt(text: str) -> dict[str, Any]:
    """Best-effort vocabulary values from free prompt text: phrases and labels, longest match first."""
    return read_prompt(text).values


def read_prompt(text: str) -> PromptReading:
    """The vocabulary values a free prompt names, and the words it uses that the painter cannot draw."""
    haystack = _words(text or "")
    taken = [False] * len(haystack)
    single: dict[str, str] = {}
    multiple: dict[str, set[str]] = {}
    # An exact age ("a 40-year-old man") decides the age range, before "old" alone reads as elderly.
    for match in _YEARS_OLD.finditer(haystack):
        key = v.age_range(int(match[1]))
        if key is not None:
            single.setdefault(v.AGE.name, key)
            for i in range(match.start(), match.end()):
                taken[i] = True
    for needle, targets, claimed in _needles():
        start = haystack.find(needle)
        while start != -1:
            span = range(start + 1, start + claimed - 1)
            if not any(taken[i] for i in span):
                for i in span:
                    taken[i] = True
                for name, key in targets:
                    if v.BY_NAME[name].multiple:
                        multiple.setdefault(name, set()).add(key)
                    else:
                        single.setdefault(name, key)
            start = haystack.find(needle, start + 1)
    result: dict[str, Any] = {}
    for attribute in v.ATTRIBUTES:
        if attribute.name in single:
            result[attribute.name] = single[attribute.name]
        elif attribute.name in multiple:
            result[attribute.name] = [c.key for c in attribute.choices if c.key in multiple[attribute.name]]
    not_drawn: dict[str, None] = {}
    for match in re.finditer(r"[a-z]+", haystack):
        word = match.group()
        if len(word) > 2 and word not in _FILLER and not any(taken[match.start() : match.end()]):
            not_drawn.setdefault(word)
    return PromptReading(result, tuple(not_drawn))
