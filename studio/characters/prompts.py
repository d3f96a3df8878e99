"""Character -> prompt and negative prompt. Pure functions: same input, same text.

The builders take a plain mapping of attribute values (vocabulary keys, lists for multi-valued attributes)
so the live preview can build from unsaved form data and imports from parsed rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from studio.characters import vocabulary as v


@dataclass(frozen=True)
class Prompt:
    text: str
    negative: str

    @property
    def length(self) -> int:
        return len(self.text)


class PromptTooLongError(ValueError):
    # What to do about it: a character's prompt is built from its attributes, a free prompt is typed.
    CHARACTER_ADVICE = "Shorten the distinguishing features or choose fewer attributes."
    FREE_TEXT_ADVICE = "Shorten the prompt."
    ANY_ADVICE = "Shorten the prompt (for a character: its distinguishing features, or fewer attributes)."

    def __init__(self, length: int, limit: int, where: str = "", advice: str = CHARACTER_ADVICE) -> None:
        self.length = length
        self.limit = limit
        target = f" for {where}" if where else ""
        super().__init__(f"The prompt is {length} characters long; the limit{target} is {limit}. {advice}")


def _phrase(values: Mapping[str, Any], attribute: v.Attribute) -> str:
    value = values.get(attribute.name)
    return attribute.phrase(value) if isinstance(value, str) else ""


def _phrases(values: Mapping[str, Any], attribute: v.Attribute) -> list[str]:
    raw = values.get(attribute.name) or []
    if isinstance(raw, str):
        raw = [raw]
    # Vocabulary order, not selection order, keeps the prompt deterministic.
    selected = set(raw)
    return [choice.phrase for choice in attribute.choices if choice.key in selected]


def _join(items: Iterable[str]) -> str:
    items = [item for item in items if item]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


# Choices whose phrase is an adjective of the subject, not a noun phrase for the "with ..." list: "a
# clean-shaven man with long wavy red hair", not "a man with long wavy red hair and clean-shaven".
_SUBJECT_ADJECTIVES = frozenset({(v.FACIAL_HAIR.name, "none")})


def _is_adjective(values: Mapping[str, Any], attribute: v.Attribute) -> bool:
    return (attribute.name, values.get(attribute.name)) in _SUBJECT_ADJECTIVES


def _with_article(phrase: str) -> str:
    return f"{v.article(phrase)} {phrase}" if phrase else ""


def build_prompt(values: Mapping[str, Any]) -> Prompt:
    """Readable sentences from every filled attribute; blanks add nothing.

    The first sentence is the subject and its looks, one noun phrase each after "with": "Portrait of a
    clean-shaven elderly man of European descent with fair skin, green eyes, long wavy red hair and a slim
    build." The hair colour and style make one phrase (vocabulary.hair_phrase).
    """
    sentences: list[str] = []

    camera = _phrase(values, v.CAMERA)
    art_style = _phrase(values, v.ART_STYLE)
    if art_style and not camera and art_style.endswith("portrait"):
        # "Photorealistic portrait of ...", not "Photorealistic portrait, portrait of ..."
        opening = art_style
    else:
        framing = camera or "portrait"
        opening = f"{art_style}, {framing}" if art_style else framing
    years = values.get("age_years")
    age = f"{years}-year-old" if isinstance(years, int) and not isinstance(years, bool) else ""
    adjectives = [_phrase(values, v.FACIAL_HAIR)] if _is_adjective(values, v.FACIAL_HAIR) else []
    subject_words = [*adjectives, age or _phrase(values, v.AGE), _phrase(values, v.GENDER) or "person"]
    subject = " ".join(word for word in subject_words if word)
    # "of African descent" follows the subject; "with elven features and pointed ears" heads its looks.
    ethnicity = _phrase(values, v.ETHNICITY)
    ethnic_features = ethnicity.removeprefix("with ") if ethnicity.startswith("with ") else ""
    descent = f" {ethnicity}" if ethnicity and not ethnic_features else ""
    sentences.append(f"{opening} of {v.article(subject)} {subject}{descent}")

    features = [
        *ethnic_features.split(" and "),  # "with elven features, pointed ears and ...": one "and" per list
        _phrase(values, v.SKIN_TONE),
        _phrase(values, v.EYE_COLOR),
        v.hair_phrase(values.get(v.HAIR_COLOR.name), values.get(v.HAIR_STYLE.name)),
        "" if _is_adjective(values, v.FACIAL_HAIR) else _phrase(values, v.FACIAL_HAIR),
        _with_article(_phrase(values, v.BODY_TYPE)),  # "a slim build", "an athletic build"
    ]
    if any(features):
        # One sentence with its subject: "Portrait of a woman with red hair.", not "...woman. With red hair."
        sentences[0] += " with " + _join(features)

    clothing = _phrase(values, v.CLOTHING)
    colour = _phrase(values, v.CLOTHING_COLOR)
    style = _phrase(values, v.CLOTHING_STYLE)
    if clothing or colour or style:
        text = f"wearing {clothing or 'an outfit'}"
        if colour:
            text += f" in {colour}"
        if style:
            text += f", {style}"
        sentences.append(text)

    accessories = _phrases(values, v.ACCESSORIES)
    if accessories:
        sentences.append("accessories: " + _join(accessories))

    demeanour = [_phrase(values, v.EXPRESSION), _phrase(values, v.POSE)]
    if any(demeanour):
        sentences.append(", ".join(d for d in demeanour if d))

    distinguishing = str(values.get("distinguishing_features") or "").strip()
    if distinguishing:
        sentences.append(" ".join(distinguishing.split()))

    look = [
        _phrase(values, v.TEXTURE),
        ", ".join(_phrases(values, v.DOMINANT_COLORS)),
        _phrase(values, v.CONTRAST),
        _phrase(values, v.SHADING),
        _phrase(values, v.LIGHTING),
        _phrase(values, v.BACKGROUND),
        _phrase(values, v.LENS),
    ]
    if any(look):
        sentences.append(", ".join(item for item in look if item))

    negative = " ".join(str(values.get("negative_prompt") or "").split())
    return Prompt(text=" ".join(_sentence(s) for s in sentences if s), negative=negative)


def character_prompt(character: Any) -> Prompt:
    return build_prompt(character.prompt_values())


# Where the image providers' prompt limits come from: the portraits feature sits above this one, so it
# registers a source (StudioConfig.ready) instead of being imported here.
_limit_sources: list[Callable[[], list[tuple[str, int]]]] = []


def register_limit_source(source: Callable[[], list[tuple[str, int]]]) -> None:
    if source not in _limit_sources:
        _limit_sources.append(source)


@dataclass(frozen=True)
class LengthCheck:
    """A prompt's length against the limit of every provider the generator offers, for the meter and the save
    warning."""

    length: int
    limits: list[tuple[str, int]]  # (provider label, limit), usable providers only (providers.prompt_limits)

    @property
    def largest(self) -> int:
        return max((limit for _, limit in self.limits), default=settings.PROMPT_MAX_LENGTH)

    @property
    def too_long_for(self) -> list[str]:
        return [label for label, limit in self.limits if self.length > limit]

    @property
    def fits_none(self) -> bool:
        return self.length > self.largest

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.length / self.largest)) if self.largest else 100

    @property
    def state(self) -> str:
        """The meter's colour: "danger" when no provider takes it, "warning" when some do not, else ""."""
        return "danger" if self.fits_none else "warning" if self.too_long_for else ""


def length_check(prompt: Prompt) -> LengthCheck:
    limits = [limit for source in _limit_sources for limit in source()]
    return LengthCheck(prompt.length, limits)


def check_length(prompt: Prompt, limit: int | None = None, where: str = "") -> None:
    """Raise PromptTooLongError when the prompt will not fit the target model."""
    limit = limit or settings.PROMPT_MAX_LENGTH
    if prompt.length > limit:
        raise PromptTooLongError(prompt.length, limit, where)
