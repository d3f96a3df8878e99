"""Character import and export: CSV (with a row-by-row preview), JSON, and the shared write path.

The flow for a CSV upload is ``preview()`` (parse, map headers, validate every cell, match each row to an
existing character in one query) then ``commit()`` (the same parse again, then bulk writes in batches).
Rows stream through both: only a bounded window of rows is kept for display and each write batch is
dropped once saved, so a 100k-row file costs the file itself plus a batch, not a list of every row.

JSON and character cards (see ``cards.py``) go through the same validation in a lenient mode: values
that do not map onto the vocabulary are kept in the notes instead of rejecting the record.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import difflib
import io
import json
import re
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from itertools import islice
from typing import IO, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import vocabulary as v
from .access import parse_id
from .models import Character, Portrait, Visibility

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_ROWS = 100_000
DEFAULT_PREVIEW_ROWS = 1000
DEFAULT_BACKGROUND_ROWS = 2000
BATCH_SIZE = 1000
SAMPLE_BYTES = 64 * 1024

NEW, UPDATE, UNCHANGED, INVALID = "new", "update", "unchanged", "invalid"
STATUSES = (NEW, UPDATE, UNCHANGED, INVALID)

Progress = Callable[[int, int], None]
Source = str | bytes | bytearray | memoryview | IO[bytes]


def max_bytes() -> int:
    return int(getattr(settings, "CHARACTER_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def max_rows() -> int:
    return int(getattr(settings, "CHARACTER_IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS))


def preview_rows_limit() -> int:
    return int(getattr(settings, "CHARACTER_IMPORT_PREVIEW_ROWS", DEFAULT_PREVIEW_ROWS))


def background_rows_threshold() -> int:
    """Files with more rows than this are committed by a background task."""
    return int(getattr(settings, "CHARACTER_IMPORT_BACKGROUND_ROWS", DEFAULT_BACKGROUND_ROWS))


class ImportProblem(Exception):
    """The whole file cannot be imported; ``message`` is written for the user."""

    def __init__(self, message: str, mapping: ColumnMapping | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.mapping = mapping


# --- fields and header mapping -------------------------------------------------------------------------

TEXT_FIELDS = ("distinguishing_features", "negative_prompt", "notes")
CHARACTER_FIELDS: tuple[str, ...] = ("name", *v.NAMES, *TEXT_FIELDS, "visibility")
EXPORT_FIELDS: tuple[str, ...] = ("id", *CHARACTER_FIELDS)

FIELD_LABELS: dict[str, str] = {
    "id": "ID",
    "name": "Name",
    **{attribute.name: attribute.label for attribute in v.ATTRIBUTES},
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
    "distinguishing_features": (
        "features",
        "description",
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
    for name in (*TEXT_FIELDS, "visibility"):
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


class _CellProblem(Exception):
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


_CHOICE_LOOKUPS: dict[str, dict[str, str]] = {a.name: _choice_lookup(a) for a in v.ATTRIBUTES}
_AGE_RANGES = (
    (12, "child"),
    (17, "teen"),
    (29, "young_adult"),
    (44, "adult"),
    (64, "middle_aged"),
    (130, "elderly"),
)
_NUMBER = re.compile(r"^\s*(\d{1,4})(?:\.\d+)?\s*(?:years?(?: old)?|y/?o|yrs?)?\s*$", re.IGNORECASE)
_SPLIT_MULTI = re.compile(r"[;,|]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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


def age_range(years: int) -> str | None:
    for upper, key in _AGE_RANGES:
        if years <= upper:
            return key
    return None


def _clean_choice(attribute: v.Attribute, raw: str) -> str:
    text = raw.strip()
    if not text:
        return ""
    key = _CHOICE_LOOKUPS[attribute.name].get(v.normalise(text))
    if key:
        return key
    if attribute is v.AGE and (number := _NUMBER.match(text)):
        key = age_range(int(number.group(1)))
        if key:
            return key
        raise _CellProblem(f"{text} is not a plausible age.")
    raise _CellProblem(f"“{text}” is not a {attribute.label.lower()} choice.", suggest(attribute, text))


def _clean_multi(attribute: v.Attribute, raw: str) -> list[str]:
    keys: dict[str, None] = {}
    bad: list[str] = []
    suggestion = ""
    for part in _SPLIT_MULTI.split(raw):
        part = part.strip()
        if not part:
            continue
        key = _CHOICE_LOOKUPS[attribute.name].get(v.normalise(part))
        if key:
            keys[key] = None
        else:
            bad.append(part)
            suggestion = suggestion or suggest(attribute, part)
    if bad:
        listed = ", ".join(f"“{part}”" for part in bad)
        noun = "is not an" if len(bad) == 1 else "are not"
        raise _CellProblem(
            f"{listed} {noun} {attribute.label.lower()} choice{'s' if len(bad) > 1 else ''}.", suggestion
        )
    return list(keys)  # the file's order (the prompt builder sorts), duplicates dropped


# Apostrophes then a formula character: export adds one apostrophe, import takes one away, so text
# that already starts with "'=" survives the round trip too.
_GUARDED = re.compile(r"'*[=+\-@\t\r]")


def _unneutralise(text: str) -> str:
    """Undo export's formula guard ('=SUM -> =SUM) so exported text round-trips."""
    if text.startswith("'") and _GUARDED.match(text, 1):
        return text[1:]
    return text


def _clean_name(raw: str) -> str:
    name = " ".join(_unneutralise(raw.strip()).split())
    if len(name) > 120:
        raise _CellProblem(f"The name is {len(name)} characters long; the limit is 120.")
    return name


def _clean_id(raw: str) -> int | None:
    text = raw.strip()
    if not text:
        return None
    pk = parse_id(text)
    if pk is None:
        raise _CellProblem(f"“{text}” is not a character id (a whole number).")
    return pk


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
        raise _CellProblem(f"“{text}” is not a visibility (private or public).")
    return key


def _cleaner(field_name: str) -> Callable[[str], Any]:
    if field_name == "id":
        return _clean_id
    if field_name == "name":
        return _clean_name
    if field_name == "visibility":
        return _clean_visibility
    if field_name in TEXT_FIELDS:
        return _clean_text
    attribute = v.BY_NAME[field_name]
    clean = _clean_multi if attribute.multiple else _clean_choice
    cache: dict[str, Any] = {}

    def cached(raw: str) -> Any:
        # Vocabulary cells repeat a lot; remember each distinct value's outcome (errors included).
        try:
            outcome = cache[raw]
        except KeyError:
            try:
                outcome = (clean(attribute, raw), None)
            except _CellProblem as problem:
                outcome = (None, problem)
            if len(cache) < 10_000:
                cache[raw] = outcome
        if outcome[1] is not None:
            raise outcome[1]
        value = outcome[0]
        return list(value) if isinstance(value, list) else value

    return cached


# --- rows -----------------------------------------------------------------------------------------------


@dataclass
class ImportRow:
    line: int
    cells: list[str]
    values: dict[str, Any]
    errors: list[CellError] = field(default_factory=list)
    status: str = ""
    character_id: int | None = None
    changed: tuple[str, ...] = ()  # fields an update will change

    @property
    def name(self) -> str:
        return str(self.values.get("name") or "")

    @property
    def is_valid(self) -> bool:
        return not self.errors

    @property
    def error_text(self) -> str:
        return "; ".join(
            f"{error.column}: {error.message}" if error.column else error.message for error in self.errors
        )

    def error_for(self, header: str) -> CellError | None:
        """The error of one cell, for highlighting it in the preview table."""
        return next((error for error in self.errors if error.column == header), None)


def _row_validator(mapping: ColumnMapping) -> Callable[[int, list[str]], ImportRow]:
    readers = [(c.index, c.header, c.field, _cleaner(c.field)) for c in mapping.columns if c.field]
    width = len(mapping.columns)
    name_header = next((c.header for c in mapping.columns if c.field == "name"), "name")

    def validate(line: int, cells: list[str]) -> ImportRow:
        values: dict[str, Any] = {}
        errors: list[CellError] = []
        count = len(cells)
        for index, header, field_name, clean in readers:
            raw = cells[index] if index < count else ""
            try:
                values[field_name] = clean(raw)
            except _CellProblem as problem:
                errors.append(CellError(line, header, raw, problem.reason, problem.suggestion))
        if count > width and any(cell.strip() for cell in cells[width:]):
            errors.append(
                CellError(
                    line, "", "", f"This row has {count} cells but the header names only {width} columns."
                )
            )
        if values.get("id") is None:
            values.pop("id", None)
            if not values.get("name") and not any(error.column == name_header for error in errors):
                errors.append(CellError(line, name_header, "", "A name is required."))
        elif "name" in values and not values["name"]:
            del values["name"]  # an id without a name keeps the character's name
        return ImportRow(line, cells, values, errors)

    return validate


# --- decoding -------------------------------------------------------------------------------------------


def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    # cp1252 leaves five bytes undefined; read them as Latin-1 rather than failing the file.
    assert isinstance(error, UnicodeDecodeError)
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("dali_latin1_fallback", _latin1_fallback)

_SIGNATURES = (
    (b"PK\x03\x04", "This looks like a ZIP or Excel (.xlsx) file. Save it as CSV and upload that."),
    (b"\xd0\xcf\x11\xe0", "This looks like an old Excel (.xls) file. Save it as CSV and upload that."),
    (b"\x89PNG", "This is a PNG image, not a CSV file. Import character cards with the card importer."),
    (b"%PDF", "This is a PDF, not a CSV file."),
    (b"\x1f\x8b", "This is a compressed (gzip) file. Unpack it and upload the CSV inside."),
)
_BINARY = "This does not look like a text (CSV) file. Upload a CSV saved as UTF-8 or Windows-1252."


def _limit_message(size: int) -> str:
    limit = max_bytes()
    return (
        f"The file is {size / 1_048_576:.1f} MB; the limit is {limit / 1_048_576:.0f} MB. "
        "Split it into smaller files."
    )


def check_size(size: int) -> None:
    """Raise ImportProblem when an upload of ``size`` bytes is over the limit (call before reading it)."""
    if size > max_bytes():
        raise ImportProblem(_limit_message(size))


def _control_ratio(text: str) -> float:
    if not text:
        return 0.0
    controls = sum(1 for ch in text if (ord(ch) < 32 and ch not in "\t\n\r\f") or ch == "\x7f")
    return controls / len(text)


def _detect_encoding(stream: IO[bytes]) -> tuple[str, str]:
    """(encoding, errors) for a seekable binary stream positioned at 0."""
    head = stream.read(SAMPLE_BYTES)
    if not head:
        raise ImportProblem("The file is empty.")
    for signature, message in _SIGNATURES:
        if head.startswith(signature):
            raise ImportProblem(message)
    if head.startswith(codecs.BOM_UTF8):
        encoding, errors = "utf-8-sig", "dali_latin1_fallback"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, errors = "utf-16", "replace"
    else:
        if b"\x00" in head:
            raise ImportProblem(_BINARY)
        encoding, errors = "utf-8", "strict"
        stream.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := stream.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            encoding, errors = "cp1252", "dali_latin1_fallback"
    text = head.decode(encoding, errors="replace")
    if _control_ratio(text[:8192]) > 0.05:
        raise ImportProblem(_BINARY)
    if not text.strip().lstrip("\ufeff").strip() and len(head) < SAMPLE_BYTES:
        raise ImportProblem("The file is empty.")
    stream.seek(0)
    return encoding, errors


def _binary_stream(data: bytes | bytearray | memoryview | IO[bytes]) -> IO[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        return io.BytesIO(data)
    stream: Any = data
    # Django's File/UploadedFile and tempfile wrappers hold the real file in .file.
    while not isinstance(stream, io.IOBase) and hasattr(stream, "file"):
        stream = stream.file
    stream.seek(0)
    return stream


def decode(data: bytes) -> str:
    """The text of an uploaded file: BOM, UTF-8, then Windows-1252; binary and oversize files refused."""
    check_size(len(data))
    stream = _binary_stream(data)
    encoding, errors = _detect_encoding(stream)
    return bytes(data).decode(encoding, errors=errors)


@dataclass(frozen=True)
class _Text:
    stream: Iterable[str]
    encoding: str
    sample: str
    release: Callable[[], None]


def _lines(text: str) -> Iterator[str]:
    start, end = 0, len(text)
    while start < end:
        stop = text.find("\n", start)
        if stop < 0:
            yield text[start:]
            return
        yield text[start : stop + 1]
        start = stop + 1


def _open_text(data: Source) -> _Text:
    if isinstance(data, str):
        if len(data) > max_bytes():
            raise ImportProblem(_limit_message(len(data)))
        if not data.strip().lstrip("\ufeff").strip():
            raise ImportProblem("The file is empty.")
        if "\x00" in data[:SAMPLE_BYTES] or _control_ratio(data[:8192]) > 0.05:
            raise ImportProblem(_BINARY)
        text = data[1:] if data.startswith("\ufeff") else data
        sample = text[:SAMPLE_BYTES]
        # StringIO would hold a 4-bytes-per-character copy; slicing lines keeps one line at a time.
        lines = io.StringIO(text, newline="") if "\r" in sample and "\n" not in sample else _lines(text)
        return _Text(lines, "text", sample, lambda: None)
    stream = _binary_stream(data)
    stream.seek(0, io.SEEK_END)
    check_size(stream.tell())
    stream.seek(0)
    encoding, errors = _detect_encoding(stream)
    sample = stream.read(SAMPLE_BYTES).decode(encoding, errors="replace").lstrip("\ufeff")
    stream.seek(0)
    wrapper = io.TextIOWrapper(stream, encoding=encoding, errors=errors, newline="")  # type: ignore[type-var]

    def release() -> None:
        # Detach so that dropping the wrapper never closes the caller's file.
        with contextlib.suppress(ValueError):
            wrapper.detach()

    return _Text(
        wrapper, "windows-1252" if encoding == "cp1252" else encoding.replace("-sig", ""), sample, release
    )


def sniff_delimiter(sample: str) -> str:
    """Comma, semicolon or tab, judged from the first lines; comma when unsure."""
    lines = sample.splitlines()
    if len(sample) >= SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut short
    lines = [line for line in lines[:50] if line.strip()]
    if not lines:
        return ","
    first = lines[0]
    try:
        delimiter = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ""
    if delimiter and delimiter in first:
        return delimiter
    counts = {candidate: first.count(candidate) for candidate in (",", ";", "\t")}
    best = max(counts, key=lambda candidate: counts[candidate])
    return best if counts[best] else ","


# --- parsing --------------------------------------------------------------------------------------------


@dataclass
class ParsedCsv:
    encoding: str
    delimiter: str
    mapping: ColumnMapping
    rows: Iterator[ImportRow]  # validated rows, streamed; not yet matched to existing characters


def _csv_records(text: _Text, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(text.stream, delimiter=delimiter)
    previous = 0
    try:
        for cells in reader:
            line = previous + 1
            previous = reader.line_num
            if not cells or not any(cell.strip() for cell in cells):
                continue
            yield line, cells
    except csv.Error as error:
        detail = "a cell is too long — is a closing quote missing?" if "field larger" in str(error) else error
        raise ImportProblem(f"Line {reader.line_num}: the file cannot be read as CSV ({detail}).") from None
    finally:
        text.release()


def parse_csv(data: Source, overrides: Mapping[str, str] | None = None) -> ParsedCsv:
    """Open, decode and sniff a CSV, read its header and stream its validated rows."""
    text = _open_text(data)
    delimiter = sniff_delimiter(text.sample)
    records = _csv_records(text, delimiter)
    try:
        _, header = next(records)
    except StopIteration:
        raise ImportProblem("The file is empty.") from None
    mapping = map_headers(header, overrides)
    if not mapping.fields:
        records.close()
        raise ImportProblem(
            "The first row should be a header naming the columns (for example: name, gender, hair colour), "
            "but none of its cells is a column we know.",
            mapping,
        )
    if not mapping.has_identity:
        records.close()
        raise ImportProblem(
            "No column holds the character's name. Add a “name” column or map one to Name.", mapping
        )
    validate = _row_validator(mapping)
    limit = max_rows()

    def rows() -> Iterator[ImportRow]:
        for count, (line, cells) in enumerate(records, start=1):
            if count > limit:
                records.close()
                raise ImportProblem(
                    f"The file has more than {limit:,} rows (the limit). Split it into smaller files."
                )
            yield validate(line, cells)

    return ParsedCsv(text.encoding, delimiter, mapping, rows())


def iter_rows(data: Source, overrides: Mapping[str, str] | None = None) -> Iterator[ImportRow]:
    """Every validated row of a CSV, one at a time."""
    yield from parse_csv(data, overrides).rows


def count_rows(data: Source) -> int:
    """Data rows in a CSV (blank lines and the header not counted), without validating them."""
    text = _open_text(data)
    records = _csv_records(text, sniff_delimiter(text.sample))
    return max(sum(1 for _ in records) - 1, 0)


# --- matching against existing characters ---------------------------------------------------------------


class _LineIndex:
    """The line each name (or id) was first seen on, in ~24 bytes a row rather than a dict's ~150.

    Keys are kept as 64-bit fingerprints in an open-addressing table, so a 100k-row file costs a few MB;
    two different names sharing a fingerprint is a 1-in-10^10 event for such a file.
    """

    def __init__(self) -> None:
        self._size = 1024
        self._count = 0
        self._keys = array("Q", bytes(8 * self._size))
        self._lines = array("I", bytes(4 * self._size))

    @staticmethod
    def _fingerprint(key: object) -> int:
        return (hash(key) & 0xFFFF_FFFF_FFFF_FFFF) or 1

    def _slot(self, fingerprint: int) -> int:
        mask = self._size - 1
        slot = fingerprint & mask
        while self._keys[slot] and self._keys[slot] != fingerprint:
            slot = (slot + 1) & mask
        return slot

    def get(self, key: object) -> int | None:
        slot = self._slot(self._fingerprint(key))
        return self._lines[slot] if self._keys[slot] else None

    def add(self, key: object, line: int) -> None:
        fingerprint = self._fingerprint(key)
        slot = self._slot(fingerprint)
        if not self._keys[slot]:
            self._count += 1
            self._keys[slot], self._lines[slot] = fingerprint, line
            if self._count * 2 > self._size:
                self._grow()

    def _grow(self) -> None:
        keys, lines = self._keys, self._lines
        self._size *= 2
        self._keys = array("Q", bytes(8 * self._size))
        self._lines = array("I", bytes(4 * self._size))
        for fingerprint, line in zip(keys, lines, strict=True):
            if fingerprint:
                slot = self._slot(fingerprint)
                self._keys[slot], self._lines[slot] = fingerprint, line


class _Matcher:
    """Classifies rows as new/update/unchanged/invalid against the owner's characters (one query)."""

    def __init__(self, owner: Any, fields: Iterable[str]) -> None:
        self.owner = owner
        self.fields = [name for name in dict.fromkeys(fields) if name in CHARACTER_FIELDS and name != "name"]
        columns = ("id", "name", "version", *self.fields)
        self.snapshots: dict[int, tuple[Any, ...]] = {}
        self.by_name: dict[str, int] = {}
        self.by_folded: dict[str, int] = {}
        for record in Character.objects.filter(owner=owner).values_list(*columns).iterator(chunk_size=5000):
            self.snapshots[record[0]] = record
            self.by_name[record[1]] = record[0]
            self.by_folded.setdefault(record[1].casefold(), record[0])
        self.positions = {name: index for index, name in enumerate(columns)}
        self.reset()

    def reset(self) -> None:
        self.seen_ids = _LineIndex()
        self.seen_names = _LineIndex()

    def classify(self, row: ImportRow) -> ImportRow:
        if row.errors:
            row.status = INVALID
            return row
        values = row.values
        wanted_id = values.get("id")
        name = values.get("name", "")
        character_id = wanted_id if wanted_id in self.snapshots else None
        if character_id is None and name:
            character_id = self.by_name.get(name) or self.by_folded.get(name.casefold())
        folded = name.casefold()
        if folded and (earlier := self.seen_names.get(folded)):
            return self._reject(row, f"The name “{name}” already appears on line {earlier}.")
        if character_id is not None and (earlier := self.seen_ids.get(character_id)):
            return self._reject(row, f"This character is already imported on line {earlier}.")
        if character_id is None:
            if not name:
                return self._reject(row, f"There is no character with id {wanted_id} to update; add a name.")
            row.status, row.changed = NEW, tuple(key for key in values if key != "id")
        else:
            holder = self.by_name.get(name) if name else None
            if holder is not None and holder != character_id:
                return self._reject(row, f"Another of your characters is already called “{name}”.")
            snapshot = self.snapshots[character_id]
            changed = []
            for field_name, value in values.items():
                if field_name == "id":
                    continue
                current = snapshot[self.positions[field_name]]
                if isinstance(value, list):
                    if set(value) != set(current or ()):
                        changed.append(field_name)
                    else:
                        values[field_name] = current  # same set: keep the stored order, no change
                elif value != current:
                    changed.append(field_name)
            row.character_id = character_id
            row.changed = tuple(changed)
            row.status = UPDATE if changed else UNCHANGED
            self.seen_ids.add(character_id, row.line)
        if folded:
            self.seen_names.add(folded, row.line)
        return row

    def _reject(self, row: ImportRow, reason: str) -> ImportRow:
        header = "name" if "name" in row.values else ""
        row.errors.append(CellError(row.line, header, row.name, reason))
        row.status = INVALID
        return row


# --- preview --------------------------------------------------------------------------------------------


@dataclass
class ImportPreview:
    encoding: str
    delimiter: str
    mapping: ColumnMapping
    rows: list[ImportRow]  # what the table shows: the first rows, then invalid ones, capped
    counts: dict[str, int]  # new, update, unchanged, invalid, total
    hidden_rows: int = 0  # rows counted but not kept for display

    @property
    def total(self) -> int:
        return self.counts["total"]

    @property
    def can_commit(self) -> bool:
        return self.counts[NEW] + self.counts[UPDATE] > 0

    @property
    def runs_in_background(self) -> bool:
        return self.total > background_rows_threshold()

    @property
    def delimiter_name(self) -> str:
        return {",": "comma", ";": "semicolon", "\t": "tab"}.get(self.delimiter, self.delimiter)


def _empty_counts() -> dict[str, int]:
    return {NEW: 0, UPDATE: 0, UNCHANGED: 0, INVALID: 0, "total": 0}


def preview(data: Source, owner: Any, overrides: Mapping[str, str] | None = None) -> ImportPreview:
    """Parse and validate a CSV and say what committing it would do to each row."""
    parsed = parse_csv(data, overrides)
    matcher = _Matcher(owner, parsed.mapping.fields)
    counts = _empty_counts()
    shown: list[ImportRow] = []
    keep, keep_invalid = preview_rows_limit(), preview_rows_limit()
    for row in parsed.rows:
        matcher.classify(row)
        counts[row.status] += 1
        counts["total"] += 1
        if len(shown) < keep:
            shown.append(row)
        elif row.status == INVALID and keep_invalid > 0:
            keep_invalid -= 1
            shown.append(row)
    if counts["total"] == 0:
        raise ImportProblem("The file has a header row but no characters below it.", parsed.mapping)
    return ImportPreview(
        parsed.encoding, parsed.delimiter, parsed.mapping, shown, counts, counts["total"] - len(shown)
    )


# --- commit ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RejectedRow:
    line: int
    cells: list[str]
    error: str


@dataclass
class ImportReport:
    headers: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    committed: bool = True  # False when all-or-nothing rolled everything back
    message: str = ""
    rejected: list[RejectedRow] = field(default_factory=list)
    character_ids: list[int] = field(default_factory=list)  # created or updated, first 1000

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.invalid

    @property
    def saved(self) -> int:
        return self.created + self.updated

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImportReport:
        values = dict(data)
        values["rejected"] = [RejectedRow(**row) for row in values.get("rejected", [])]
        return cls(**values)


def _batched(rows: Iterable[ImportRow], size: int) -> Iterator[list[ImportRow]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _reject(report: ImportReport, row: ImportRow) -> None:
    report.invalid += 1
    report.rejected.append(RejectedRow(row.line, row.cells, row.error_text))


_JSON_FIELDS = frozenset(a.name for a in v.ATTRIBUTES if a.multiple)


def _adapt(connection: Any, name: str, value: Any) -> Any:
    return connection.ops.adapt_json_value(value, None) if name in _JSON_FIELDS else value


def _insert(owner: Any, rows: list[ImportRow], now: Any) -> None:
    """INSERT the new rows with executemany.

    The ORM's bulk_create spends ~0.5 ms a row preparing values field by field; the values here are
    already clean strings and lists, so this is the difference between 5 s and 0.5 s for 10k rows.
    Character.save's one side effect for a new row, marking the owner's character list as changed, is done
    once per batch by _save_batch.
    """
    connection = transaction.get_connection()
    meta = Character._meta
    stamp = connection.ops.adapt_datetimefield_value(now)
    defaults = {
        name: _adapt(connection, name, meta.get_field(name).get_default()) for name in CHARACTER_FIELDS
    }
    columns = [*CHARACTER_FIELDS, "owner_id", "version", "created_at", "updated_at"]
    fixed = (owner.pk, 1, stamp, stamp)
    params = []
    for row in rows:
        values = row.values
        params.append(
            (
                *(
                    _adapt(connection, name, values[name]) if name in values else defaults[name]
                    for name in CHARACTER_FIELDS
                ),
                *fixed,
            )
        )
    quote = connection.ops.quote_name
    # Identifiers come from the model's meta, quoted; every value is a parameter.
    head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) VALUES "  # noqa: S608
    one = f"({', '.join(['%s'] * len(columns))})"
    with connection.cursor() as cursor:
        copy = getattr(cursor.cursor, "copy", None)
        if connection.vendor == "postgresql" and copy is not None:
            # COPY streams the rows in one statement; executemany is a round trip per row.
            with copy(
                f"COPY {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
            ) as pipe:
                for row in params:
                    pipe.write_row(row)
        else:
            cursor.executemany(head + one, params)


def _update(matcher: _Matcher, rows: list[ImportRow], now: Any) -> None:
    """UPDATE the changed columns of each row (grouped by which columns changed), bumping versions."""
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    table = quote(Character._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(now)
    groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for row in rows:
        assert row.character_id is not None
        version = matcher.snapshots[row.character_id][2]
        # Same rule as Character.save: any prompt field change is a new version.
        if any(name in Character.PROMPT_FIELDS for name in row.changed):
            version += 1
        values = tuple(_adapt(connection, name, row.values[name]) for name in row.changed)
        groups.setdefault(row.changed, []).append(
            (*values, version, stamp, row.character_id, matcher.owner.pk)
        )
    with connection.cursor() as cursor:
        for changed, params in groups.items():
            assignments = ", ".join(f"{quote(name)} = %s" for name in (*changed, "version", "updated_at"))
            cursor.executemany(
                f"UPDATE {table} SET {assignments} WHERE {quote('id')} = %s AND {quote('owner_id')} = %s",  # noqa: S608
                params,
            )
    # Raw UPDATEs skip Character.save, which keeps the portraits' community flag in step with the character.
    republished = [row.character_id for row in rows if "visibility" in row.changed]
    if republished:
        Portrait.sync_public_flags(Portrait.objects.filter(character_id__in=republished))


def _save_batch(matcher: _Matcher, batch: list[ImportRow], report: ImportReport) -> None:
    now = timezone.now()
    creates = [row for row in batch if row.status == NEW]
    updates = [row for row in batch if row.status == UPDATE]
    if updates:
        _update(matcher, updates, now)
    if creates:
        _insert(matcher.owner, creates, now)
    # The raw SQL skips Character.save, which marks the owner's character list as changed.
    if creates or any("name" in row.changed for row in updates):
        get_user_model().characters_changed(matcher.owner.pk)
    report.created += len(creates)
    report.updated += len(updates)
    room = 1000 - len(report.character_ids)
    if room > 0 and (creates or updates):
        report.character_ids.extend(row.character_id for row in updates[:room] if row.character_id)
        names = [row.values["name"] for row in creates[: max(room - len(updates), 0)]]
        if names:
            ids = Character.objects.filter(owner=matcher.owner, name__in=names).values_list("id", flat=True)
            report.character_ids.extend(ids)


def _write(
    make_rows: Callable[[], Iterator[ImportRow]],
    owner: Any,
    fields: Iterable[str],
    headers: list[str],
    *,
    all_or_nothing: bool,
    progress: Progress | None,
    total: int,
) -> ImportReport:
    matcher = _Matcher(owner, fields)
    report = ImportReport(headers=headers)
    processed = 0

    def tick(count: int) -> None:
        nonlocal processed
        processed += count
        if progress:
            progress(processed, max(total, processed))

    if all_or_nothing:
        # Check every row first; write nothing unless all of them are good.
        for batch in _batched(make_rows(), BATCH_SIZE):
            for row in batch:
                if matcher.classify(row).status == INVALID:
                    _reject(report, row)
        if report.invalid:
            report.committed = False
            report.message = (
                f"Nothing was imported: {report.invalid:,} row{'s are' if report.invalid > 1 else ' is'} "
                "invalid and you asked for all or nothing."
            )
            return report
        matcher.reset()
        try:
            with transaction.atomic():
                for batch in _batched(make_rows(), BATCH_SIZE):
                    for row in batch:
                        matcher.classify(row)
                        if row.status == UNCHANGED:
                            report.unchanged += 1
                    _save_batch(matcher, batch, report)
                    tick(len(batch))
        except IntegrityError:
            return ImportReport(
                headers=headers,
                committed=False,
                message="Nothing was imported: your characters changed meanwhile. Try again.",
            )
        return report

    for batch in _batched(make_rows(), BATCH_SIZE):
        good = []
        for row in batch:
            matcher.classify(row)
            if row.status == INVALID:
                _reject(report, row)
            else:
                if row.status == UNCHANGED:
                    report.unchanged += 1
                good.append(row)
        try:
            # One transaction per batch: progress is visible to other connections and a failure loses
            # only this batch; re-importing the file is idempotent.
            with transaction.atomic():
                _save_batch(matcher, good, report)
        except IntegrityError:
            for row in good:
                if row.status == UNCHANGED:
                    continue
                row.errors.append(
                    CellError(row.line, "", "", "Not saved: a character with this name was saved meanwhile.")
                )
                _reject(report, row)
        tick(len(batch))
    return report


def commit(
    data: Source,
    owner: Any,
    overrides: Mapping[str, str] | None = None,
    all_or_nothing: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the valid rows of a CSV (all of them or none with ``all_or_nothing``) and report counts."""
    total = count_rows(data) if progress else 0  # before parse_csv: both read the same stream
    parsed = parse_csv(data, overrides)
    first = [parsed.rows]

    def make_rows() -> Iterator[ImportRow]:
        # The first pass reuses the open parse; a second pass (all-or-nothing) reads the file again.
        return first.pop() if first else parse_csv(data, overrides).rows

    report = _write(
        make_rows,
        owner,
        parsed.mapping.fields,
        parsed.mapping.headers,
        all_or_nothing=all_or_nothing,
        progress=progress,
        total=total,
    )
    if report.total == 0 and report.committed:
        raise ImportProblem("The file has a header row but no characters below it.", parsed.mapping)
    return report


def rejected_rows_csv(report: ImportReport) -> str:
    """The rejected rows with their original columns plus an "error" column, to fix and re-import."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    headers = [header for header in report.headers if header.casefold() != "error"]
    error_index = next((i for i, h in enumerate(report.headers) if h.casefold() == "error"), None)
    writer.writerow([*headers, "error"])
    width = len(report.headers)
    for row in report.rejected:
        cells = [*row.cells[:width], *[""] * (width - len(row.cells))]
        if error_index is not None:
            del cells[error_index]
        writer.writerow([*(neutralise(cell) for cell in cells), neutralise(row.error)])
    return buffer.getvalue()


# --- export ---------------------------------------------------------------------------------------------


def neutralise(text: str) -> str:
    """Stop spreadsheets from running a cell as a formula (OWASP CSV injection)."""
    if text.startswith(_FORMULA_START) or (text.startswith("'") and _GUARDED.match(text)):
        return "'" + text
    return text


def _export_cell(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    if value is None:
        return ""
    return neutralise(str(value))


def export_csv(queryset: Any) -> Iterator[str]:
    """CSV text in chunks (header first), suitable for a StreamingHttpResponse."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_FIELDS)
    rows = queryset.order_by("name", "id").values_list(*EXPORT_FIELDS).iterator(chunk_size=2000)
    for index, record in enumerate(rows, start=1):
        writer.writerow([_export_cell(value) for value in record])
        if index % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


JSON_FORMAT = "dali-studio/characters"


def character_record(character: Character) -> dict[str, Any]:
    return {name: getattr(character, name) for name in EXPORT_FIELDS}


def export_json(queryset: Any) -> str:
    records = [
        dict(zip(EXPORT_FIELDS, values, strict=True))
        for values in queryset.order_by("name", "id").values_list(*EXPORT_FIELDS).iterator(chunk_size=2000)
    ]
    return json.dumps(
        {"format": JSON_FORMAT, "version": 1, "characters": records}, ensure_ascii=False, indent=2
    )


# --- lenient records (JSON, cards) ----------------------------------------------------------------------

_WORDS = re.compile(r"[a-z0-9]+")
_JSON_IGNORED = frozenset({"version", "createdat", "updatedat", "owner", "format", "portraits"})
# Where a phrase for one attribute also says something about another ("light blue shirt").
_COMPANIONS = {"clothing": "clothing_color", "hair_style": "hair_color"}


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


def _flatten(record: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in record.items():
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{key}.")
        else:
            yield f"{prefix}{key}", value


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(_as_text(item) for item in value)
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def record_row(record: Mapping[str, Any], line: int) -> ImportRow:
    """One JSON-like record as a validated row: vocabulary values matched leniently, leftovers in notes."""
    values: dict[str, Any] = {}
    errors: list[CellError] = []
    notes: list[str] = []
    raw_text: dict[str, str] = {}
    for key, value in _flatten(record):
        text = _as_text(value).strip()
        leaf = key.rsplit(".", 1)[-1]
        normalised = v.normalise(leaf)
        target = HEADER_LOOKUP.get(normalised) or HEADER_LOOKUP.get(v.normalise(key))
        if leaf == "additional_details":
            target = "distinguishing_features"
        if not target or target in values:
            if text and normalised not in _JSON_IGNORED:
                notes.append(f"{leaf.replace('_', ' ')}: {text}")
            continue
        if target in v.BY_NAME:
            attribute = v.BY_NAME[target]
            raw_text[target] = text
            if attribute.multiple:
                parts = value if isinstance(value, list) else _SPLIT_MULTI.split(text)
                keys, misses = [], []
                for part in parts:
                    part_text = _as_text(part).strip()
                    if not part_text:
                        continue
                    found = _CHOICE_LOOKUPS[target].get(v.normalise(part_text)) or fuzzy_choice(
                        attribute, part_text
                    )
                    if found:
                        keys.append(found)
                    else:
                        misses.append(part_text)
                values[target] = list(dict.fromkeys(keys))
                if misses:
                    notes.append(f"{attribute.label.lower()}: {', '.join(misses)}")
                continue
            try:
                values[target] = _clean_choice(attribute, text)
            except _CellProblem:
                found = fuzzy_choice(attribute, text)
                values[target] = found or ""
                notes.append(f"{attribute.label.lower()}: {text}")
            continue
        if target == "name" or target in TEXT_FIELDS:
            text = neutralise(text)  # JSON has no formula guard: keep a leading "'=" as written
        try:
            values[target] = _cleaner(target)(text)
        except _CellProblem as problem:
            if target in ("id", "visibility"):
                if target == "visibility":
                    notes.append(f"visibility: {text}")
                continue
            errors.append(CellError(line, key, text, problem.reason, problem.suggestion))
    for source, companion in _COMPANIONS.items():
        if source in raw_text and not values.get(companion):
            found = fuzzy_choice(v.BY_NAME[companion], raw_text[source])
            if found:
                values[companion] = found
    if notes:
        existing = str(values.get("notes") or "")
        values["notes"] = "\n".join([part for part in (existing,) if part] + notes)
    if values.get("id") is None:
        values.pop("id", None)
        if not values.get("name"):
            errors.append(CellError(line, "name", "", "A name is required."))
    cells = [json.dumps(record, ensure_ascii=False, default=str)]
    return ImportRow(line, cells, values, errors)


def _records(data: Any) -> list[Mapping[str, Any]]:
    if isinstance(data, Mapping):
        if isinstance(data.get("characters"), list):
            data = data["characters"]
        elif isinstance(data.get("character"), Mapping):
            data = [data["character"]]
        elif isinstance(data.get("data"), Mapping) and "spec" in data:
            data = [data["data"]]
        else:
            data = [data]
    if not isinstance(data, list):
        raise ImportProblem("The JSON should be a character, a list of characters or an export file.")
    if len(data) > max_rows():
        raise ImportProblem(f"The file has more than {max_rows():,} characters; split it into smaller files.")
    return data


def parse_json(data: str | bytes | Any) -> list[Mapping[str, Any]]:
    if isinstance(data, bytes | bytearray | memoryview):
        data = decode(bytes(data))
    if isinstance(data, str):
        if len(data) > max_bytes():
            raise ImportProblem(_limit_message(len(data)))
        if not data.strip():
            raise ImportProblem("The file is empty.")
        try:
            data = json.loads(data)
        except (ValueError, RecursionError) as error:
            raise ImportProblem(f"This is not valid JSON ({error}).") from None
    return _records(data)


def _record_rows(records: list[Any]) -> Iterator[ImportRow]:
    for index, record in enumerate(records, start=1):
        if isinstance(record, Mapping):
            yield record_row(record, index)
        else:
            cell = _as_text(record)[:200]
            yield ImportRow(index, [cell], {}, [CellError(index, "", cell, "This entry is not a character.")])


def preview_records(records: list[Mapping[str, Any]], owner: Any, *, encoding: str = "json") -> ImportPreview:
    """What importing JSON-like records (a JSON file, a card) would do, in the same shape as a CSV preview."""
    matcher = _Matcher(owner, CHARACTER_FIELDS)
    counts = _empty_counts()
    shown: list[ImportRow] = []
    keep = preview_rows_limit()
    for row in _record_rows(records):
        matcher.classify(row)
        counts[row.status] += 1
        counts["total"] += 1
        if len(shown) < keep or (row.status == INVALID and len(shown) < 2 * keep):
            shown.append(row)
    if counts["total"] == 0:
        raise ImportProblem("The file holds no characters.")
    return ImportPreview(encoding, "", ColumnMapping(()), shown, counts, counts["total"] - len(shown))


CSV, JSON, CARD = "csv", "json", "card"


def detect_format(name: str, head: bytes) -> str:
    """CSV, JSON or a PNG character card, from the file's first bytes and then its name."""
    suffix = name.rsplit(".", 1)[-1].casefold() if "." in name else ""
    if head.startswith(b"\x89PNG") or suffix == "png":
        return CARD
    if suffix == "json" or head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        return JSON
    return CSV


def import_records(
    records: list[Mapping[str, Any]],
    owner: Any,
    all_or_nothing: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    return _write(
        lambda: _record_rows(records),
        owner,
        CHARACTER_FIELDS,
        ["record"],
        all_or_nothing=all_or_nothing,
        progress=progress,
        total=len(records),
    )


def import_json(
    data: str | bytes | Any,
    owner: Any,
    all_or_nothing: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import our JSON export, a list of characters, or the nested sample format ({"character": {...}})."""
    return import_records(parse_json(data), owner, all_or_nothing=all_or_nothing, progress=progress)
