"""Header mapping (aliases, did-you-mean) and cell cleaning onto the vocabulary, strict (CSV) or lenient
(JSON, cards: fuzzy matches)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from studio.access import parse_id
from studio.characters import vocabulary as v
from studio.characters.models import Visibility, clean_name
from studio.imports.sources import ImportProblem, max_columns
from studio.text import a_or_an

# --- fields and header mapping -------------------------------------------------------------------------

TEXT_FIELDS = ("description", "distinguishing_features", "negative_prompt", "notes")
# What a CSV column can fill; RECORD_FIELDS adds the card data that only JSON and cards carry.
CHARACTER_FIELDS: tuple[str, ...] = ("name", *v.NAMES, "age_years", *TEXT_FIELDS, "visibility")
RECORD_FIELDS: tuple[str, ...] = (*CHARACTER_FIELDS, "card")
EXPORT_FIELDS: tuple[str, ...] = ("id", *CHARACTER_FIELDS)

FIELD_LABELS: dict[str, str] = {
    "id": "ID",
    "name": "Name",
    **{attribute.name: attribute.label for attribute in v.ATTRIBUTES},
    "age_years": "Exact age",
    "description": "Description",
    "distinguishing_features": "Distinguishing features",
    "negative_prompt": "Negative prompt",
    "notes": "Notes",
    "visibility": "Visibility",
}
# For the "map this column to" select in the preview; "" means "ignore this column".
FIELD_CHOICES: tuple[tuple[str, str], ...] = (("", "Ignore this column"), *FIELD_LABELS.items())

_EXTRA_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("pk", "character id", "character_id"),
    "name": ("character", "character name", "full name", "char name"),
    "age_years": ("age in years", "years old", "exact age in years"),
    "description": ("about", "bio", "biography", "summary"),
    "distinguishing_features": (
        "features",
        "details",
        "additional details",
        "distinguishing marks",
        "appearance",
    ),
    "negative_prompt": ("negative", "avoid", "negative prompt text"),
    "notes": ("note", "comments", "comment", "private notes"),
    "visibility": ("privacy", "shared", "public or private"),
}
# Columns we write ourselves (the rejected-rows "error" column, export metadata): ignored, not "unknown".
_KNOWN_IGNORED = frozenset(
    v.normalise(name) for name in ("error", "errors", "version", "created at", "updated at", "owner")
)


def _build_header_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for name in ("id", "name"):
        for alias in (name, FIELD_LABELS[name], *_EXTRA_ALIASES[name]):
            lookup.setdefault(v.normalise(alias), name)
    for attribute in v.ATTRIBUTES:
        for alias in (attribute.name, attribute.label, *attribute.aliases):
            lookup.setdefault(v.normalise(alias), attribute.name)
    for name in ("age_years", *TEXT_FIELDS, "visibility"):
        for alias in (name, FIELD_LABELS[name], *_EXTRA_ALIASES[name]):
            lookup.setdefault(v.normalise(alias), name)
    return lookup


HEADER_LOOKUP: dict[str, str] = _build_header_lookup()


@dataclass(frozen=True)
class Column:
    index: int
    header: str
    field: str  # "" when the column is ignored
    status: str  # "matched", "remapped", "unknown", "ignored", "duplicate" or "blank"

    @property
    def label(self) -> str:
        return FIELD_LABELS.get(self.field, "")


@dataclass(frozen=True)
class ColumnMapping:
    columns: tuple[Column, ...]

    @property
    def headers(self) -> list[str]:
        return [column.header for column in self.columns]

    @property
    def unknown(self) -> list[str]:
        return [column.header for column in self.columns if column.status == "unknown"]

    @property
    def duplicates(self) -> list[str]:
        return [column.header for column in self.columns if column.status == "duplicate"]

    @property
    def mapped(self) -> dict[str, str]:
        """header -> field for every column that will be read."""
        return {column.header: column.field for column in self.columns if column.field}

    @property
    def fields(self) -> list[str]:
        return [column.field for column in self.columns if column.field]

    @property
    def has_identity(self) -> bool:
        fields = set(self.fields)
        return "name" in fields or "id" in fields

    def as_overrides(self) -> dict[str, str]:
        """The user's remapping, ready to be posted back with the commit."""
        return {
            column.header: column.field for column in self.columns if column.status in ("remapped", "ignored")
        }


def map_headers(headers: Iterable[str], overrides: Mapping[str, str] | None = None) -> ColumnMapping:
    """Match headers to fields (case-, space- and alias-insensitive).

    ``overrides`` maps a header to a field, or to "" to ignore that column.
    """
    headers = list(headers)
    if len(headers) > (limit := max_columns()):
        raise ImportProblem(
            f"The file has {len(headers):,} columns; the limit is {limit:,} "
            "(CHARACTER_IMPORT_MAX_COLUMNS). Remove the columns you do not need."
        )
    overrides = dict(overrides or {})
    for header, target in overrides.items():
        if target and target not in FIELD_LABELS:
            raise ImportProblem(f"Column “{header}” cannot be mapped to “{target}”: there is no such field.")
    columns: list[Column] = []
    taken: set[str] = set()
    for index, raw in enumerate(headers):
        header = raw.strip().lstrip("\ufeff").strip()
        if header in overrides:
            target, status = overrides[header], "remapped"
            if not target:
                status = "ignored"
        elif not header:
            target, status = "", "blank"
        else:
            key = v.normalise(header)
            target = HEADER_LOOKUP.get(key, "")
            status = "matched" if target else ("ignored" if key in _KNOWN_IGNORED else "unknown")
        if target and target in taken:
            target, status = "", "duplicate"
        if target:
            taken.add(target)
        columns.append(Column(index, header, target, status))
    return ColumnMapping(tuple(columns))


# --- values ---------------------------------------------------------------------------------------------


class CellProblem(Exception):
    def __init__(self, reason: str, suggestion: str = "") -> None:
        self.reason = reason
        self.suggestion = suggestion


@dataclass(frozen=True)
class CellError:
    line: int  # 1-based line of the row in the file (record number for JSON)
    column: str  # the header as written in the file
    value: str
    reason: str
    suggestion: str = ""  # a choice label for "did you mean"

    @property
    def message(self) -> str:
        hint = f" Did you mean “{self.suggestion}”?" if self.suggestion else ""
        return f"{self.reason}{hint}"


def _choice_lookup(attribute: v.Attribute) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for choice in attribute.choices:
        lookup.setdefault(v.normalise(choice.key), choice.key)
    for choice in attribute.choices:
        lookup.setdefault(v.normalise(choice.label), choice.key)
    for choice in attribute.choices:
        lookup.setdefault(v.normalise(choice.phrase), choice.key)
    return lookup


CHOICE_LOOKUPS: dict[str, dict[str, str]] = {a.name: _choice_lookup(a) for a in v.ATTRIBUTES}
_NUMBER = re.compile(r"^\s*(\d{1,4})(?:\.\d+)?\s*(?:years?(?: old)?|y/?o|yrs?)?\s*$", re.IGNORECASE)
SPLIT_MULTI = re.compile(r"[;,|]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def suggest(attribute: v.Attribute, value: str) -> str:
    """The label of the closest choice for a near miss, or ""."""
    wanted = v.normalise(value)
    if not wanted:
        return ""
    candidates: dict[str, str] = {}
    for choice in attribute.choices:
        candidates.setdefault(v.normalise(choice.key), choice.label)
        candidates.setdefault(v.normalise(choice.label), choice.label)
    close = difflib.get_close_matches(wanted, list(candidates), n=1, cutoff=0.6)
    return candidates[close[0]] if close else ""


def clean_choice(attribute: v.Attribute, raw: str) -> str:
    text = raw.strip()
    if not text:
        return ""
    key = CHOICE_LOOKUPS[attribute.name].get(v.normalise(text))
    if key:
        return key
    if attribute is v.AGE and (number := _NUMBER.match(text)):
        key = v.age_range(int(number.group(1)))
        if key:
            return key
        raise CellProblem(f"{text} is not a plausible age.")
    raise CellProblem(f"“{text}” is not {a_or_an(attribute.label.lower())} choice.", suggest(attribute, text))


def _clean_multi(attribute: v.Attribute, raw: str) -> list[str]:
    keys: dict[str, None] = {}
    bad: list[str] = []
    suggestion = ""
    for part in SPLIT_MULTI.split(raw):
        part = part.strip()
        if not part:
            continue
        key = CHOICE_LOOKUPS[attribute.name].get(v.normalise(part))
        if key:
            keys[key] = None
        else:
            bad.append(part)
            suggestion = suggestion or suggest(attribute, part)
    if bad:
        listed = ", ".join(f"“{part}”" for part in bad)
        noun = "is not an" if len(bad) == 1 else "are not"
        raise CellProblem(
            f"{listed} {noun} {attribute.label.lower()} choice{'s' if len(bad) > 1 else ''}.", suggestion
        )
    return list(keys)  # the file's order (the prompt builder sorts), duplicates dropped


# Apostrophes then a formula character: export adds one apostrophe, import takes one away, so text
# that already starts with "'=" survives the round trip too.
GUARDED = re.compile(r"'*[=+\-@\t\r]")


def _unneutralise(text: str) -> str:
    """Undo export's formula guard ('=SUM -> =SUM) so exported text round-trips."""
    if text.startswith("'") and GUARDED.match(text, 1):
        return text[1:]
    return text


def _clean_name(raw: str) -> str:
    name = clean_name(_unneutralise(raw.strip()))
    if len(name) > 120:
        raise CellProblem(f"The name is {len(name)} characters long; the limit is 120.")
    return name


def _clean_id(raw: str) -> int | None:
    text = raw.strip()
    if not text:
        return None
    pk = parse_id(text)
    if pk is None:
        raise CellProblem(f"“{text}” is not a character id (a whole number).")
    return pk


def exact_age(raw: str) -> int | None:
    """The years of an age written as a number ("35", "35 years old"), else None (a range, or blank)."""
    number = _NUMBER.match(raw)
    return int(number.group(1)) if number else None


def _clean_age_years(raw: str) -> int | None:
    text = raw.strip()
    if not text:
        return None
    years = exact_age(text)
    if years is None:
        raise CellProblem(f"“{text}” is not an age in years (a whole number).")
    if years > v.MAX_AGE_YEARS:
        raise CellProblem(f"{text} is not a plausible age.")
    return years


def settle_age(values: dict[str, Any], raw_age: str | None) -> None:
    """An exact age (an "age" of "35", or an "age_years") decides the range; a range alone clears it."""
    if "age_years" not in values and raw_age is not None and "age" in values:
        values["age_years"] = exact_age(raw_age)
    years = values.get("age_years")
    if years is not None:
        values["age"] = v.age_range(years) or values.get("age", "")


def _clean_text(raw: str) -> str:
    return _unneutralise(raw.strip())


_VISIBILITY = {v.normalise(k): k for k in Visibility.values} | {
    v.normalise(label): key for key, label in Visibility.choices
}
_VISIBILITY.update({"yes": "public", "true": "public", "no": "private", "false": "private"})


def _clean_visibility(raw: str) -> str:
    text = raw.strip()
    if not text:
        return Visibility.PRIVATE
    key = _VISIBILITY.get(v.normalise(text))
    if key is None:
        raise CellProblem(f"“{text}” is not a visibility (private or public).")
    return key


def cleaner(field_name: str) -> Callable[[str], Any]:
    if field_name == "id":
        return _clean_id
    if field_name == "name":
        return _clean_name
    if field_name == "visibility":
        return _clean_visibility
    if field_name == "age_years":
        return _clean_age_years
    if field_name in TEXT_FIELDS:
        return _clean_text
    attribute = v.BY_NAME[field_name]
    clean = _clean_multi if attribute.multiple else clean_choice
    cache: dict[str, Any] = {}

    def cached(raw: str) -> Any:
        # Vocabulary cells repeat a lot; remember each distinct value's outcome (errors included).
        try:
            outcome = cache[raw]
        except KeyError:
            try:
                outcome = (clean(attribute, raw), None)
            except CellProblem as problem:
                outcome = (None, problem)
            if len(cache) < 10_000:
                cache[raw] = outcome
        if outcome[1] is not None:
            raise outcome[1]
        value = outcome[0]
        return list(value) if isinstance(value, list) else value

    return cached


# --- lenient records (JSON, cards) ----------------------------------------------------------------------

_WORDS = re.compile(r"[a-z0-9]+")
JSON_IGNORED = frozenset({"version", "createdat", "updatedat", "owner", "format", "portraits"})
# Where a phrase for one attribute also says something about another ("light blue shirt").
COMPANIONS = {"clothing": "clothing_color", "hair_style": "hair_color"}


def _words(text: str) -> list[str]:
    return _WORDS.findall(text.casefold().replace("-", " "))


def _contains(haystack: list[str], needle: list[str]) -> bool:
    size = len(needle)
    return bool(size) and any(haystack[i : i + size] == needle for i in range(len(haystack) - size + 1))


def fuzzy_choice(attribute: v.Attribute, text: str) -> str | None:
    """Best-effort key for a free-text phrase: the longest choice key or label found inside it."""
    words = _words(text)
    best: tuple[int, str] | None = None
    for choice in attribute.choices:
        for candidate in (choice.key.replace("_", " "), choice.label):
            size = len(_words(candidate))
            if _contains(words, _words(candidate)) and (best is None or size > best[0]):
                best = (size, choice.key)
    return best[1] if best else None


def neutralise(text: str) -> str:
    """Stop spreadsheets from running a cell as a formula (OWASP CSV injection)."""
    if text.startswith(FORMULA_START) or (text.startswith("'") and GUARDED.match(text)):
        return "'" + text
    return text
