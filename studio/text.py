"""Copy helpers shared by every feature: "a" or "an", and counted nouns ("1 portrait", "3 portraits")."""

from __future__ import annotations

# Words that start with a vowel letter but a consonant sound ("a unicorn", "a one-off"), and the reverse.
_CONSONANT_SOUNDS = ("uni", "use", "usu", "eu", "one", "once", "ur")
_VOWEL_SOUNDS = ("hour", "honest", "honour", "heir")


def a_or_an(phrase: str) -> str:
    """The phrase with its indefinite article: "an art style", "a hair colour", "a unicorn"."""
    word = phrase.strip().lower()
    vowel = (word[:1] in "aeiou" and not word.startswith(_CONSONANT_SOUNDS)) or word.startswith(_VOWEL_SOUNDS)
    return f"{'an' if vowel and word else 'a'} {phrase.strip()}"


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """ "1 portrait", "3 portraits", "0 portraits"; an irregular plural is given ("2 people")."""
    noun = singular if count == 1 else plural or f"{singular}s"
    return f"{count:,} {noun}"
