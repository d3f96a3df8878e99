"""Free prompt text read into vocabulary values."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from .. import vocabulary as v

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
}
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


@lru_cache(maxsize=1)
def _needles() -> tuple[tuple[str, str, str, int], ...]:
    """(words, attribute, key, claimed length) to look for, longest first so "glowing red eyes" beats "red".

    A clothing colour matched as "red hoodie" claims only "red", leaving "hoodie" for the clothing.
    """
    label_owners: dict[str, set[str]] = {}
    for attribute in v.ATTRIBUTES:
        for choice in attribute.choices:
            label_owners.setdefault(_words(_plain_label(choice.label)), set()).add(attribute.name)
    found: dict[str, tuple[str, str, int]] = {}
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
                found.setdefault(needle, (attribute.name, choice.key, len(needle)))
            if attribute.name == "clothing_color":
                for noun in _CLOTHING_NOUNS:
                    found.setdefault(
                        _words(f"{choice.label} {noun}"), (attribute.name, choice.key, len(label))
                    )
    for phrase, (name, key) in _EXTRA_PHRASES.items():
        found.setdefault(_words(phrase), (name, key, len(_words(phrase))))
    ordered = sorted(found.items(), key=lambda item: (-len(item[0]), item[0]))
    return tuple((needle, *target) for needle, target in ordered if needle.strip())


def values_from_prompt(text: str) -> dict[str, Any]:
    """Best-effort vocabulary values from free prompt text: phrases and labels, longest match first."""
    haystack = _words(text or "")
    taken = [False] * len(haystack)
    single: dict[str, str] = {}
    multiple: dict[str, set[str]] = {}
    for needle, name, key, claimed in _needles():
        start = haystack.find(needle)
        while start != -1:
            span = range(start + 1, start + claimed - 1)
            if not any(taken[i] for i in span):
                for i in span:
                    taken[i] = True
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
    return result
