"""Rows of an import: CSV parsing, validation, matching against existing characters and the preview.

The flow for a CSV upload is ``preview()`` (parse, map headers, validate every cell, match each row to an
existing character in one query) then ``commit.commit()`` (the same parse again, then bulk writes in batches).
Rows stream through both: only a bounded window of rows is kept for display and each write batch is
dropped once saved, so a 100k-row file costs the file itself plus a batch, not a list of every row.

JSON and character cards (see ``cards.py``) go through the same validation in a lenient mode: values
that do not map onto the vocabulary are kept in the notes instead of rejecting the record."""

from __future__ import annotations

import csv
import json
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from studio.characters import vocabulary as v
from studio.characters.models import Character, name_key
from studio.imports.cardformat import V3_SPEC, CardData, CardError
from studio.imports.mapping import (
    CHOICE_LOOKUPS,
    COMPANIONS,
    HEADER_LOOKUP,
    JSON_IGNORED,
    RECORD_FIELDS,
    SPLIT_MULTI,
    TEXT_FIELDS,
    CellError,
    CellProblem,
    ColumnMapping,
    clean_choice,
    cleaner,
    fuzzy_choice,
    map_headers,
    neutralise,
    settle_age,
)
from studio.imports.sources import (
    ImportProblem,
    Source,
    Text,
    background_rows_threshold,
    decode,
    limit_message,
    max_bytes,
    max_rows,
    open_text,
    preview_rows_limit,
    sniff_delimiter,
)

NEW, UPDATE, UNCHANGED, INVALID = "new", "update", "unchanged", "invalid"
STATUSES = (NEW, UPDATE, UNCHANGED, INVALID)

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
    updates_line: int = 0  # an earlier row of the same file that this one updates (the last one wins)

    @property
    def name(self) -> str:
        return str(self.values.get("name") or "")

    @property
    def is_valid(self) -> bool:
        return not self.errors

    @property
    def error_text(self) -> str:
        """The row's problems as sentences ("hair colour: “plaid” is not a hair colour choice. gender: ..."),
        for the rejected rows' error column and the command line: each message ends with its full stop."""
        return " ".join(
            _sentence(f"{error.column}: {error.message}" if error.column else error.message)
            for error in self.errors
        )

    @property
    def note(self) -> str:
        return f"Line {self.line} updates line {self.updates_line}." if self.updates_line else ""

    def error_for(self, header: str) -> CellError | None:
        """The error of one cell, for highlighting it in the preview table."""
        return next((error for error in self.errors if error.column == header), None)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text.endswith((".", "!", "?", "…")) else f"{text}."


def _row_validator(mapping: ColumnMapping) -> Callable[[int, list[str]], ImportRow]:
    readers = [(c.index, c.header, c.field, cleaner(c.field)) for c in mapping.columns if c.field]
    width = len(mapping.columns)
    name_header = next((c.header for c in mapping.columns if c.field == "name"), "name")
    age_index = next((c.index for c in mapping.columns if c.field == "age"), None)
    has_age = age_index is not None or "age_years" in mapping.fields

    def validate(line: int, cells: list[str]) -> ImportRow:
        values: dict[str, Any] = {}
        errors: list[CellError] = []
        count = len(cells)
        for index, header, field_name, clean in readers:
            raw = cells[index] if index < count else ""
            try:
                values[field_name] = clean(raw)
            except CellProblem as problem:
                errors.append(CellError(line, header, raw, problem.reason, problem.suggestion))
        if has_age:
            settle_age(values, None if age_index is None else cells[age_index] if age_index < count else "")
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


# --- parsing --------------------------------------------------------------------------------------------


@dataclass
class ParsedCsv:
    encoding: str
    delimiter: str
    mapping: ColumnMapping
    rows: Iterator[ImportRow]  # validated rows, streamed; not yet matched to existing characters


def _ends_in_quote(text: str, delimiter: str) -> bool:
    """Whether a record's raw text ends inside a quoted cell (csv's non-strict rules)."""
    in_quotes, at_start, index, end = False, True, 0, len(text)
    while index < end:
        char = text[index]
        if in_quotes:
            if char == '"':
                if index + 1 < end and text[index + 1] == '"':
                    index += 2
                    continue
                in_quotes, at_start = False, False
        else:
            if char == '"' and at_start:
                in_quotes = True
            at_start = char in (delimiter, "\n", "\r")
        index += 1
    return in_quotes


def _csv_records(text: Text, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    # The raw lines of the record being read: csv's reader silently closes a quote left open at the end of
    # the file (the rest of the file becomes one cell), so the last record is checked here.
    raw: list[str] = []
    ended = False

    def lines() -> Iterator[str]:
        nonlocal ended
        for text_line in text.stream:
            raw.append(text_line)
            yield text_line
        ended = True

    reader = csv.reader(lines(), delimiter=delimiter)
    previous = 0
    try:
        for cells in reader:
            line = previous + 1
            previous = reader.line_num
            if ended and _ends_in_quote("".join(raw), delimiter):
                raise ImportProblem(
                    f"Line {line}: a quote opened on this line is never closed, so every line after it "
                    "would become part of one cell. Close the quote (or double it to write a quote)."
                )
            raw.clear()
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
    text = open_text(data)
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
    text = open_text(data)
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
        """Remember ``line`` as the latest line of ``key``."""
        fingerprint = self._fingerprint(key)
        slot = self._slot(fingerprint)
        if self._keys[slot]:
            self._lines[slot] = line
            return
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


class Matcher:
    """Classifies rows as new/update/unchanged/invalid against the owner's characters (one query).

    A name (or id) seen earlier in the same file is an update of what that earlier row wrote: the last row
    wins. Previewing, such a row is an update "of line N"; ``writing`` (commit), the earlier row has been
    saved before this one is classified (see commit.py's rounds) and ``absorb``/``_lookup`` keep the
    snapshots current, so the row is compared with what is really stored.
    """

    def __init__(self, owner: Any, fields: Iterable[str], *, writing: bool = False) -> None:
        self.owner = owner
        self.writing = writing
        wanted = list(fields)
        if "age" in wanted or "age_years" in wanted:
            wanted += ["age", "age_years"]  # an exact age decides the range: they change together
        self.fields = [name for name in dict.fromkeys(wanted) if name in RECORD_FIELDS and name != "name"]
        self.columns = ("id", "name", "version", *self.fields)
        self.snapshots: dict[int, tuple[Any, ...]] = {}
        self.by_name: dict[str, int] = {}
        self.by_folded: dict[str, int] = {}
        characters = Character.objects.filter(owner=owner).values_list(*self.columns)
        for record in characters.iterator(chunk_size=5000):
            self._remember(record)
        self.positions = {name: index for index, name in enumerate(self.columns)}
        self.reset()

    def _remember(self, record: tuple[Any, ...]) -> None:
        self.snapshots[record[0]] = record
        self.by_name[record[1]] = record[0]
        self.by_folded.setdefault(name_key(record[1]), record[0])

    def _lookup(self, name: str, folded: str) -> int | None:
        """A character this import created since the Matcher was made (rare: a repeated name)."""
        characters = Character.objects.filter(owner=self.owner)
        for found in (characters.filter(name__iexact=name), characters):
            for record in found.values_list(*self.columns).iterator(chunk_size=5000):
                if name_key(record[1]) == folded:
                    self._remember(record)
                    return record[0]
        return None

    def absorb(self, rows: Iterable[ImportRow]) -> None:
        """After a save: what the saved updates wrote, so a later row for the same character sees it."""
        for row in rows:
            if row.status != UPDATE or row.character_id is None:
                continue
            snapshot = list(self.snapshots[row.character_id])
            for name in row.changed:
                snapshot[self.positions[name]] = row.values[name]
            if any(name in Character.PROMPT_FIELDS for name in row.changed):
                snapshot[2] += 1  # the version, as commit._update wrote it
            if "name" in row.changed:
                self.by_name[snapshot[1]] = row.character_id
                self.by_folded[name_key(snapshot[1])] = row.character_id
            self.snapshots[row.character_id] = tuple(snapshot)

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
        folded = name_key(name) if name else ""
        earlier = self.seen_names.get(folded) if folded else None
        if character_id is None and name:
            character_id = self.by_name.get(name) or self.by_folded.get(folded)
            if character_id is None and earlier and self.writing:
                character_id = self._lookup(name, folded)
        if character_id is not None and not earlier:
            earlier = self.seen_ids.get(character_id)
        if earlier:
            row.updates_line = earlier
            if not self.writing:  # what the earlier row will have written is not stored yet
                row.status, row.changed = UPDATE, tuple(key for key in values if key != "id")
                if character_id is not None:
                    row.character_id = character_id
                    self.seen_ids.add(character_id, row.line)
                if folded:
                    self.seen_names.add(folded, row.line)
                return row
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
    images: int = 0  # a card's images that would become portraits of its character (card_portraits.py)

    @property
    def total(self) -> int:
        return self.counts["total"]

    @property
    def can_commit(self) -> bool:
        """Something is new or changed: a row, or an unchanged card's images (those it has are skipped)."""
        return self.counts[NEW] + self.counts[UPDATE] > 0 or bool(self.images and self.counts[UNCHANGED])

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
    matcher = Matcher(owner, parsed.mapping.fields)
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
    card = record.get("card")
    if card is not None:  # the card's own fields (cards.py): kept as data, not flattened into notes
        record = {key: value for key, value in record.items() if key != "card"}
        try:
            if not isinstance(card, Mapping):
                raise CardError("The card data should be an object.")
            CardData.from_card({"spec": V3_SPEC, "data": card})  # its known fields have the spec's types
            values["card"] = dict(card)
        except CardError as error:
            errors.append(CellError(line, "card", _as_text(card)[:80], str(error)))
    for key, value in _flatten(record):
        text = _as_text(value).strip()
        leaf = key.rsplit(".", 1)[-1]
        normalised = v.normalise(leaf)
        target = HEADER_LOOKUP.get(normalised) or HEADER_LOOKUP.get(v.normalise(key))
        if leaf == "additional_details":
            target = "distinguishing_features"
        if not target or target in values:
            if text and normalised not in JSON_IGNORED:
                notes.append(f"{leaf.replace('_', ' ')}: {text}")
            continue
        if target in v.BY_NAME:
            attribute = v.BY_NAME[target]
            raw_text[target] = text
            if attribute.multiple:
                parts = value if isinstance(value, list) else SPLIT_MULTI.split(text)
                keys, misses = [], []
                for part in parts:
                    part_text = _as_text(part).strip()
                    if not part_text:
                        continue
                    found = CHOICE_LOOKUPS[target].get(v.normalise(part_text)) or fuzzy_choice(
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
                values[target] = clean_choice(attribute, text)
            except CellProblem:
                found = fuzzy_choice(attribute, text)
                values[target] = found or ""
                notes.append(f"{attribute.label.lower()}: {text}")
            continue
        if target == "name" or target in TEXT_FIELDS:
            text = neutralise(text)  # JSON has no formula guard: keep a leading "'=" as written
        try:
            values[target] = cleaner(target)(text)
        except CellProblem as problem:
            if target in ("id", "visibility"):
                if target == "visibility":
                    notes.append(f"visibility: {text}")
                continue
            errors.append(CellError(line, key, text, problem.reason, problem.suggestion))
    if "age" in values or "age_years" in values:
        settle_age(values, raw_text.get("age"))
    for source, companion in COMPANIONS.items():
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
            raise ImportProblem(limit_message(len(data)))
        if not data.strip():
            raise ImportProblem("The file is empty.")
        try:
            data = json.loads(data)
        except (ValueError, RecursionError) as error:
            raise ImportProblem(f"This is not valid JSON ({error}).") from None
    return _records(data)


def record_rows(records: list[Any]) -> Iterator[ImportRow]:
    for index, record in enumerate(records, start=1):
        if isinstance(record, Mapping):
            yield record_row(record, index)
        else:
            cell = _as_text(record)[:200]
            yield ImportRow(index, [cell], {}, [CellError(index, "", cell, "This entry is not a character.")])


def preview_records(records: list[Mapping[str, Any]], owner: Any, *, encoding: str = "json") -> ImportPreview:
    """What importing JSON-like records (a JSON file, a card) would do, in the same shape as a CSV preview."""
    matcher = Matcher(owner, RECORD_FIELDS)
    counts = _empty_counts()
    shown: list[ImportRow] = []
    keep = preview_rows_limit()
    for row in record_rows(records):
        matcher.classify(row)
        counts[row.status] += 1
        counts["total"] += 1
        if len(shown) < keep or (row.status == INVALID and len(shown) < 2 * keep):
            shown.append(row)
    if counts["total"] == 0:
        raise ImportProblem("The file holds no characters.")
    return ImportPreview(encoding, "", ColumnMapping(()), shown, counts, counts["total"] - len(shown))
