"""Character Card V2/V3 and CHARX, read and written losslessly with bounded memory (no Django, no models).

Formats (kwaroran/character-card-spec-v3 SPEC_V3.md, malfoyslastname/character-card-spec-v2, and what
SillyTavern's ``character-card-parser.js`` does):

- PNG: the card is base64 of UTF-8 JSON in a ``tEXt`` chunk, ``ccv3`` (V3) and/or ``chara`` (V2). Readers take
  ``ccv3`` when present, else ``chara`` (keywords compared case-insensitively, first chunk of each kind wins).
  We also accept ``zTXt``/``iTXt`` chunks, inflated under a limit. We write both as ``tEXt`` before ``IEND``.
- CHARX: a zip with ``card.json`` (V3) at its root and assets referenced as ``embeded://path`` (the spec's
  spelling; ``embedded://`` is accepted on read).

Conversion rule (SillyTavern's): V2 and V3 carry the same ``data`` object; only ``spec``/``spec_version``
differ. Fields that exist only in V3 (``group_only_greetings``, ``assets``, ...) stay inside ``data`` of the
V2 card too, where V2 readers ignore them, so nothing is lost either way. V2's required fields are filled
with empty values when a V3 card leaves them out, and V3's required ``group_only_greetings`` with ``[]``.
Known fields are normalised to the spec's types (``None`` -> ``""``, a number -> text, a comma-separated
tag string -> a list); every unknown field, top-level or in ``data``, and every ``extensions`` key is kept
exactly. Top-level copies of V1 fields (``name``, ``description`` ... as SillyTavern writes them) are kept
and refreshed from ``data`` on write, so an edited card never carries a stale copy.
"""

from __future__ import annotations

import base64
import binascii
import copy
import io
import json
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

MB = 1024 * 1024
DEFAULT_MAX_PNG_BYTES = 20 * MB
DEFAULT_MAX_TEXT_BYTES = 8 * MB
DEFAULT_MAX_CHARX_BYTES = 100 * MB
DEFAULT_MAX_CARD_JSON_BYTES = 8 * MB
DEFAULT_MAX_ASSET_BYTES = 20 * MB
DEFAULT_MAX_TOTAL_UNCOMPRESSED = 200 * MB
DEFAULT_MAX_ENTRIES = 1000
MAX_COMPRESSION_RATIO = 100  # for entries over 1 MB; images barely compress, JSON about 10:1
MAX_JSON_DEPTH = 100

V2_SPEC, V2_VERSION = "chara_card_v2", "2.0"
V3_SPEC, V3_VERSION = "chara_card_v3", "3.0"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CARD_KEYWORDS = ("ccv3", "chara")  # in order of preference
EMBEDDED_SCHEMES = ("embeded://", "embedded://")

_TEXT_FIELDS = ("name", "description", "personality", "scenario", "first_mes", "mes_example", "creator_notes")
_TEXT_FIELDS_2 = ("system_prompt", "post_history_instructions")
_V3_FIELDS = ("group_only_greetings", "nickname", "creator_notes_multilingual", "source", "assets")
_V3_DATES = ("creation_date", "modification_date")
_OTHER_FIELDS = (
    "alternate_greetings",
    "character_book",
    "tags",
    "creator",
    "character_version",
    "extensions",
)
_KNOWN = {*_TEXT_FIELDS, *_TEXT_FIELDS_2, *_V3_FIELDS, *_V3_DATES, *_OTHER_FIELDS}
# Top-level copies of data fields (V1 and SillyTavern's ``creatorcomment``) refreshed on write when present.
_MIRRORS = {**{name: name for name in _TEXT_FIELDS[:6]}, "tags": "tags", "creatorcomment": "creator_notes"}


class CardError(ValueError):
    """Any card or CHARX we cannot read; the message is for the user."""


def _mb(size: int) -> str:
    return f"{size / MB:.0f} MB" if size >= MB else f"{size:,} bytes"


# --- the card -------------------------------------------------------------------------------------------


def _as_text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return json.dumps(value)
    raise CardError(f"The card's “{name}” should be text.")


def _as_texts(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [t.strip() for t in value.split(",") if t.strip()] if name == "tags" else [value]
    if not isinstance(value, list):
        raise CardError(f"The card's “{name}” should be a list of text.")
    return [_as_text(item, name) for item in value if item is not None]


def _as_object(value: Any, name: str) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise CardError(f"The card's “{name}” should be an object.")


@dataclass
class CardData:
    """The ``data`` object of a V2/V3 card, plus whatever else the card held, for lossless write-back."""

    name: str = ""
    description: str = ""
    personality: str = ""
    scenario: str = ""
    first_mes: str = ""
    mes_example: str = ""
    creator_notes: str = ""
    system_prompt: str = ""
    post_history_instructions: str = ""
    alternate_greetings: list[str] = field(default_factory=list)
    character_book: dict[str, Any] | None = None
    tags: list[str] = field(default_factory=list)
    creator: str = ""
    character_version: str = ""
    extensions: dict[str, Any] = field(default_factory=dict)
    # V3 additions; None means absent (not written)
    group_only_greetings: list[str] = field(default_factory=list)
    nickname: str | None = None
    creator_notes_multilingual: dict[str, Any] | None = None
    source: list[str] | None = None
    assets: list[dict[str, Any]] | None = None
    creation_date: Any = None
    modification_date: Any = None
    extra: dict[str, Any] = field(default_factory=dict)  # unknown fields of ``data``
    card_extra: dict[str, Any] = field(default_factory=dict)  # unknown top-level fields

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> CardData:
        """A card dict (V1, V2 or V3, as :func:`check_card` accepts) as structured data."""
        card = check_card(card)
        v1 = (
            "spec" not in card
        )  # V1: the fields at the top; all stay there as copies, as SillyTavern keeps them
        top = card if v1 else {k: v for k, v in card.items() if k not in ("spec", "spec_version", "data")}
        data = copy.deepcopy(dict(card if v1 else card["data"]))
        found = cls(
            card_extra=copy.deepcopy(top),
            extra={} if v1 else {k: v for k, v in data.items() if k not in _KNOWN},
        )
        for name in (*_TEXT_FIELDS, *_TEXT_FIELDS_2, "creator", "character_version"):
            setattr(found, name, _as_text(data.get(name), name))
        for name in ("alternate_greetings", "tags", "group_only_greetings"):
            setattr(found, name, _as_texts(data.get(name), name))
        for name in ("extensions", "character_book", "creator_notes_multilingual"):
            setattr(found, name, _as_object(data.get(name), name))
        found.extensions = found.extensions or {}
        if data.get("nickname") is not None:
            found.nickname = _as_text(data["nickname"], "nickname")
        if data.get("source") is not None:
            found.source = _as_texts(data["source"], "source")
        assets = data.get("assets")
        if assets is not None:
            if not isinstance(assets, list) or not all(isinstance(a, dict) for a in assets):
                raise CardError("The card's “assets” should be a list of objects.")
            found.assets = assets
        found.creation_date, found.modification_date = (data.get(name) for name in _V3_DATES)
        return found

    def to_data(self) -> dict[str, Any]:
        """The ``data`` object, V2 fields in the spec's order, then V3 fields, then unknown ones."""
        out: dict[str, Any] = {name: getattr(self, name) for name in (*_TEXT_FIELDS, *_TEXT_FIELDS_2)}
        out["alternate_greetings"] = self.alternate_greetings
        if self.character_book is not None:
            out["character_book"] = self.character_book
        out.update(tags=self.tags, creator=self.creator, character_version=self.character_version)
        out["extensions"] = self.extensions
        out["group_only_greetings"] = self.group_only_greetings
        for name in (*_V3_FIELDS[1:], *_V3_DATES):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        out.update(self.extra)
        return copy.deepcopy(out)

    def _card(self, spec: str, version: str) -> dict[str, Any]:
        data = self.to_data()
        top = copy.deepcopy(self.card_extra)
        for key, name in _MIRRORS.items():
            if key in top:
                top[key] = copy.deepcopy(data[name])
        return {**top, "spec": spec, "spec_version": version, "data": data}

    def to_v3(self) -> dict[str, Any]:
        return self._card(V3_SPEC, V3_VERSION)

    def to_v2(self) -> dict[str, Any]:
        return self._card(V2_SPEC, V2_VERSION)


def v3_from_v2(card: Mapping[str, Any]) -> dict[str, Any]:
    return CardData.from_card(card).to_v3()


def v2_from_v3(card: Mapping[str, Any]) -> dict[str, Any]:
    return CardData.from_card(card).to_v2()


def lorebook_entry_count(book: Mapping[str, Any] | None) -> int:
    entries = book.get("entries") if book else None
    return len(entries) if isinstance(entries, list) else 0


def _check_depth(value: Any) -> None:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise CardError(f"The card's data is nested more than {MAX_JSON_DEPTH} levels deep.")
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


def check_card(card: Any) -> dict[str, Any]:
    """The card itself when it is a V1, V2 or V3 character card; else a :class:`CardError`."""
    if not isinstance(card, dict):
        raise CardError("The character card's data is not a character (not a JSON object).")
    if "spec" not in card:
        if isinstance(card.get("name"), str) and "data" not in card:
            return card  # V1: the fields at the top level
        raise CardError("The character card has no “spec”, so it is not a character card we know.")
    if card["spec"] not in (V2_SPEC, V3_SPEC):
        raise CardError(
            f"The character card's spec is {str(card['spec'])[:40]!r}, not {V2_SPEC} or {V3_SPEC}."
        )
    if not isinstance(card.get("data"), dict):
        raise CardError("The character card has no “data” object.")
    return card


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: Python reads them, JavaScript does not


def parse_card_json(raw: bytes) -> dict[str, Any]:
    """UTF-8 JSON bytes (a BOM allowed) as a checked card dict."""
    try:
        card = json.loads(raw.decode("utf-8-sig"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CardError("The character card's data is not readable JSON.") from None
    _check_depth(card)
    return check_card(card)


def _card_json(card: Mapping[str, Any]) -> bytes:
    try:
        return json.dumps(card, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\ud83d" from a JavaScript tool) is kept as an escape
        return json.dumps(card, separators=(",", ":")).encode("ascii")


# --- PNG ------------------------------------------------------------------------------------------------


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise CardError("The PNG is truncated (it ends in the middle of a chunk).")
    return data


class _Chunk:
    """The body of one PNG chunk, read piecewise with its CRC kept up to date."""

    def __init__(self, stream: BinaryIO, kind: bytes, length: int) -> None:
        self.stream, self.left, self.crc = stream, length, zlib.crc32(kind)

    def read(self, size: int) -> bytes:
        data = _read_exactly(self.stream, min(size, self.left))
        self.left -= len(data)
        self.crc = zlib.crc32(data, self.crc)
        return data

    def skip(self) -> None:
        if self.stream.seekable():
            self.stream.seek(self.left, io.SEEK_CUR)  # past the end is caught by the CRC read below
        else:
            while self.left:
                self.left -= len(_read_exactly(self.stream, min(self.left, 64 * 1024)))
        _read_exactly(self.stream, 4)
        self.left = 0

    def finish(self) -> None:
        if struct.unpack(">I", _read_exactly(self.stream, 4))[0] != self.crc:
            raise CardError("The card's text chunk is damaged (its checksum does not match).")


def _too_big(limit: int) -> CardError:
    return CardError(f"The card's text is larger than the {_mb(limit)} limit for card text.")


def _gather(prefix: bytes, chunk: _Chunk, compressed: bool, limit: int) -> bytes:
    """The rest of a text chunk, inflated if need be, never holding more than ``limit`` bytes of text."""
    if not compressed:
        if len(prefix) + chunk.left > limit:
            raise _too_big(limit)
        return prefix + chunk.read(chunk.left)
    inflater, pieces, total, block = zlib.decompressobj(), [], 0, prefix
    try:
        while True:
            while block and not inflater.eof:
                piece = inflater.decompress(block, min(limit - total + 1, MB))
                total += len(piece)
                if total > limit:
                    raise _too_big(limit)
                pieces.append(piece)
                block = inflater.unconsumed_tail
            if not chunk.left:
                break
            block = chunk.read(64 * 1024)
    except zlib.error:
        raise CardError("The card's compressed text chunk is corrupt.") from None
    if not inflater.eof:
        raise CardError("The card's compressed text chunk is cut short.")
    return b"".join(pieces)


def _text_chunk(chunk: _Chunk, kind: bytes, wanted: Iterable[str], limit: int) -> tuple[str, bytes] | None:
    """(keyword, text) of a text chunk with a wanted keyword, or None (chunk skipped) for any other."""
    head = chunk.read(80)  # keyword: 1-79 bytes, then NUL
    raw_keyword, nul, rest = head.partition(b"\0")
    keyword = raw_keyword.decode("latin-1").lower()
    if not nul or keyword not in wanted:
        chunk.skip()
        return None
    compressed = kind == b"zTXt"
    if kind != b"tEXt":  # zTXt: method, data; iTXt: flag, method, language NUL, translated keyword NUL, text
        while len(rest) < 1 or (kind == b"iTXt" and rest.count(b"\0", 2) < 2):
            if not chunk.left or len(rest) > limit:
                raise CardError("The card's text chunk is malformed.")
            rest += chunk.read(256)
        if kind == b"iTXt":
            compressed, rest = rest[0] == 1, rest[2:].split(b"\0", 2)[2]
        else:
            rest = rest[1:]
    text = _gather(rest, chunk, compressed, limit)
    chunk.finish()
    return keyword, text


def read_png_card(
    stream: BinaryIO, *, max_bytes: int = DEFAULT_MAX_PNG_BYTES, max_text_bytes: int = DEFAULT_MAX_TEXT_BYTES
) -> dict[str, Any]:
    """The card JSON of a PNG card (``ccv3`` preferred to ``chara``), reading only the card's text chunks.

    Memory is bounded by ``max_text_bytes`` (twice, while joining) plus the parsed JSON: pixel data and
    other chunks are skipped (seeked past when the stream can seek), never inflated.
    """
    if stream.seekable():
        start = stream.tell()
        size = stream.seek(0, io.SEEK_END) - start
        stream.seek(start)
        if size > max_bytes:
            raise CardError(f"The card is {size / MB:.1f} MB; the limit is {_mb(max_bytes)}.")
    if stream.read(8) != PNG_SIGNATURE:
        raise CardError("This is not a PNG image, so it cannot be a character card.")
    found: dict[str, bytes] = {}
    offset, first = 8, True
    while True:
        header = stream.read(8)
        if len(header) < 8:
            raise CardError("The PNG is truncated (it has no end chunk).")
        length, kind = struct.unpack(">I4s", header)
        offset += 12 + length
        if length > 0x7FFFFFFF or offset > max_bytes:
            raise CardError(f"The card is larger than the {_mb(max_bytes)} limit.")
        if first and (kind != b"IHDR" or length != 13):
            raise CardError("The PNG is damaged (it does not start with an image header).")
        first = False
        chunk = _Chunk(stream, kind, length)
        if kind == b"IEND":
            chunk.skip()
            break
        wanted = [k for k in CARD_KEYWORDS if k not in found]
        if kind in (b"tEXt", b"zTXt", b"iTXt") and "ccv3" in wanted and length:
            text = _text_chunk(chunk, kind, wanted, max_text_bytes)
            if text is not None:
                found[text[0]] = text[1]
        else:
            chunk.skip()
    encoded = found.get("ccv3") or found.get("chara")
    if encoded is None:
        raise CardError("This PNG has no character card in it (no “chara” or “ccv3” text chunk).")
    return parse_card_json(_b64decode(encoded))


def _b64decode(text: bytes) -> bytes:
    """Base64 as lenient as Node's ``Buffer.from(text, "base64")``: spaces, URL-safe letters, no padding."""
    if len(text) % 4 or not re.fullmatch(rb"[A-Za-z0-9+/]*={0,2}", text):  # else no copies of big texts
        text = re.sub(rb"[\s=]+", b"", text).translate(bytes.maketrans(b"-_", b"+/"))
        text += b"=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CardError("The character card's data is not valid base64.") from None


def _chunk_bytes(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _chunks(png: bytes) -> Iterable[tuple[bytes, bytes]]:
    """(type, whole chunk bytes) of an in-memory PNG, up to and including IEND."""
    if not png.startswith(PNG_SIGNATURE):
        raise CardError("This is not a PNG image, so it cannot be a character card.")
    position = len(PNG_SIGNATURE)
    while True:
        if position + 12 > len(png):
            raise CardError("The PNG is truncated (it has no end chunk).")
        length, kind = struct.unpack(">I4s", png[position : position + 8])
        end = position + 12 + length
        if end > len(png):
            raise CardError("The PNG is truncated (it ends in the middle of a chunk).")
        yield kind, png[position:end]
        if kind == b"IEND":
            return
        position = end


def _is_card_chunk(kind: bytes, whole: bytes) -> bool:
    if kind not in (b"tEXt", b"zTXt", b"iTXt"):
        return False
    keyword = whole[8:88].partition(b"\0")[0]
    return keyword.decode("latin-1").lower() in CARD_KEYWORDS


def without_card_chunks(png: bytes) -> bytes:
    """The PNG without its ``chara``/``ccv3`` chunks (nor anything after IEND): the picture of a card.

    Every other chunk is kept byte for byte, so a PNG without a card comes back unchanged."""
    return PNG_SIGNATURE + b"".join(whole for kind, whole in _chunks(png) if not _is_card_chunk(kind, whole))


def write_png_card(png: bytes, card_v3: Mapping[str, Any], card_v2: Mapping[str, Any] | None = None) -> bytes:
    """The PNG with ``chara`` (V2) and ``ccv3`` (V3) tEXt chunks before IEND, replacing any earlier ones.

    ``spec``/``spec_version`` are set on both; ``card_v2`` defaults to :func:`v2_from_v3` of ``card_v3``.
    """
    v3 = {**card_v3, "spec": V3_SPEC, "spec_version": V3_VERSION}
    v2 = {
        **(card_v2 if card_v2 is not None else v2_from_v3(card_v3)),
        "spec": V2_SPEC,
        "spec_version": V2_VERSION,
    }
    out = [PNG_SIGNATURE]
    for kind, whole in _chunks(png):
        if kind == b"IEND":
            for keyword, card in (("chara", v2), ("ccv3", v3)):
                out.append(
                    _chunk_bytes(b"tEXt", keyword.encode() + b"\0" + base64.b64encode(_card_json(card)))
                )
        if not _is_card_chunk(kind, whole):
            out.append(whole)
    return b"".join(out)


# --- CHARX ----------------------------------------------------------------------------------------------

_DAMAGED = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
    struct.error,
)
_TYPE = re.compile(r"[a-z][a-z0-9_]{0,39}")
_EXT = re.compile(r"[a-z0-9]{1,10}")
_FOLDERS = {
    "images": {"png", "jpg", "jpeg", "webp", "avif", "gif", "apng", "bmp"},
    "audio": {"mp3", "ogg", "wav", "flac", "m4a", "opus"},
    "video": {"mp4", "webm", "mov", "mkv"},
}
_PACKED = _FOLDERS["images"] | _FOLDERS["audio"] | _FOLDERS["video"]  # already compressed: stored as is


def _safe_entry_name(name: str) -> bool:
    if not name or len(name) > 255 or "\\" in name or name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return False
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return False
    return all(part not in ("", ".", "..") for part in name.removesuffix("/").split("/"))


def _check_directory(stream: BinaryIO, start: int, size: int, max_entries: int) -> None:
    """Refuse from the end-of-central-directory record, before zipfile reads (and allocates) the directory."""
    tail_size = min(size, 22 + 0xFFFF)
    stream.seek(start + size - tail_size)
    tail = stream.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        raise CardError("This is not a CHARX file (not a zip archive).")
    entries, directory_size = struct.unpack("<HI", tail[at + 10 : at + 16])
    if entries == 0xFFFF or directory_size == 0xFFFFFFFF:
        raise CardError("The CHARX file is a ZIP64 archive, which is larger than any CHARX we accept.")
    if entries > max_entries or directory_size > max_entries * 1024:
        raise CardError(f"The CHARX file has more than {max_entries:,} files in it, the limit.")


@dataclass
class _Budget:
    max_asset_bytes: int
    total_left: int


@dataclass
class CharxAsset:
    """An ``embeded://`` asset of a CHARX card; ``index`` is its position in ``data.assets``.

    ``type``, ``name`` and ``ext`` are the card's words, never to be used as a path. Reading needs the
    stream given to :func:`read_charx` to be open; every read counts against the limits given there.
    """

    type: str
    name: str
    ext: str
    path: str
    size: int
    index: int
    _zip: zipfile.ZipFile = field(repr=False, compare=False)
    _budget: _Budget = field(repr=False, compare=False)

    def copy_to(self, out: BinaryIO) -> int:
        """Write the asset's bytes to ``out`` in blocks; returns the number written."""
        return _copy_entry(self._zip, self._zip.getinfo(self.path), out.write, self._budget)

    def read(self) -> bytes:
        out = io.BytesIO()
        self.copy_to(out)
        return out.getvalue()


def _copy_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, write: Any, budget: _Budget) -> int:
    limit = min(budget.max_asset_bytes, budget.total_left)
    total = 0
    try:
        with archive.open(info) as entry:
            while piece := entry.read(64 * 1024):
                total += len(piece)
                if total > limit:
                    which = "per file" if limit == budget.max_asset_bytes else "for the whole CHARX"
                    raise CardError(
                        f"“{info.filename}” inflates to more than the {_mb(limit)} limit {which}."
                    )
                write(piece)
    except _DAMAGED:
        raise CardError(f"The CHARX file is damaged (“{info.filename}” cannot be read).") from None
    budget.total_left -= total
    return total


def read_charx(
    stream: BinaryIO,
    *,
    max_bytes: int = DEFAULT_MAX_CHARX_BYTES,
    max_card_json_bytes: int = DEFAULT_MAX_CARD_JSON_BYTES,
    max_asset_bytes: int = DEFAULT_MAX_ASSET_BYTES,
    max_total_uncompressed: int = DEFAULT_MAX_TOTAL_UNCOMPRESSED,
    max_entries: int = DEFAULT_MAX_ENTRIES,
) -> tuple[dict[str, Any], list[CharxAsset]]:
    """The V3 card of a CHARX (a seekable stream) and its embedded assets, to read on demand.

    Refused before anything is inflated: too many entries, unsafe names (``..``, absolute, backslashes, drive
    letters), encrypted or unusual compression, declared sizes over the limits, compression ratios over
    MAX_COMPRESSION_RATIO. Limits are enforced again while inflating, since declared sizes can lie.
    Assets whose ``uri`` is not ``embeded://`` (``ccdefault:``, https) or names no file stay in the card only.
    """
    start = stream.tell()
    size = stream.seek(0, io.SEEK_END) - start
    if size > max_bytes:
        raise CardError(f"The CHARX file is {size / MB:.1f} MB; the limit is {_mb(max_bytes)}.")
    _check_directory(stream, start, size, max_entries)
    stream.seek(start)
    try:
        archive = zipfile.ZipFile(stream)
    except _DAMAGED:
        raise CardError("This is not a CHARX file (not a readable zip archive).") from None
    infos = archive.infolist()
    if len(infos) > max_entries:
        raise CardError(f"The CHARX file has more than {max_entries:,} files in it, the limit.")
    declared = 0
    for info in infos:
        if not _safe_entry_name(info.filename):
            raise CardError(f"The CHARX file has an unsafe file name: {info.filename[:80]!r}.")
        if info.flag_bits & 1:
            raise CardError("The CHARX file is encrypted.")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise CardError(f"“{info.filename[:80]}” uses a compression method CHARX files do not use.")
        limit = max_card_json_bytes if info.filename == "card.json" else max_asset_bytes
        if info.file_size > limit:
            raise CardError(
                f"“{info.filename[:80]}” is {info.file_size / MB:.1f} MB; the limit is {_mb(limit)}."
            )
        if info.file_size > MB and info.file_size > MAX_COMPRESSION_RATIO * info.compress_size:
            raise CardError(f"“{info.filename[:80]}” is compressed suspiciously well (a zip bomb?).")
        declared += info.file_size
    if declared > max_total_uncompressed:
        raise CardError(
            f"The CHARX file inflates to {declared / MB:.0f} MB; the limit is {_mb(max_total_uncompressed)}."
        )
    by_name = {info.filename: info for info in infos if not info.is_dir()}
    if "card.json" not in by_name:
        raise CardError("This CHARX file has no card.json, so it holds no character.")
    budget = _Budget(max_card_json_bytes, max_total_uncompressed)
    raw = io.BytesIO()
    _copy_entry(archive, by_name["card.json"], raw.write, budget)
    card = parse_card_json(raw.getvalue())
    budget.max_asset_bytes = max_asset_bytes
    assets = []
    entries = card["data"].get("assets") if "data" in card else None
    for index, asset in enumerate(entries if isinstance(entries, list) else []):
        uri = asset.get("uri") if isinstance(asset, dict) else None
        scheme = next((s for s in EMBEDDED_SCHEMES if isinstance(uri, str) and uri.startswith(s)), "")
        info = by_name.get(uri[len(scheme) :]) if scheme else None
        if info is not None:
            kind, name, ext = (str(asset.get(key) or "") for key in ("type", "name", "ext"))
            assets.append(
                CharxAsset(kind, name, ext.lower(), info.filename, info.file_size, index, archive, budget)
            )
    return card, assets


def write_charx(card_v3: Mapping[str, Any], assets: Iterable[tuple[str, str, str, bytes]]) -> bytes:
    """A CHARX: ``card.json`` plus each (type, name, ext, bytes) at ``assets/{type}/{folder}/{n}.{ext}``.

    File names are ours (a number; the folder by kind as the spec suggests: images, audio, video, other);
    ``data.assets`` keeps its non-embedded entries and gets one ``embeded://`` entry per asset, in order.
    ``type`` must be lowercase letters, digits and ``_`` (the spec's types, or ``x_...``); ``ext`` lowercase.
    """
    card = copy.deepcopy(dict(check_card(card_v3))) if "spec" in card_v3 else v3_from_v2(card_v3)
    card.update(spec=V3_SPEC, spec_version=V3_VERSION)
    kept = [
        asset
        for asset in card["data"].get("assets") or []
        if not (isinstance(asset, dict) and str(asset.get("uri", "")).startswith(EMBEDDED_SCHEMES))
    ]
    files = []
    for number, (kind, name, ext, data) in enumerate(assets, 1):
        if not _TYPE.fullmatch(kind) or not _EXT.fullmatch(ext):
            raise CardError(f"An asset's type {kind!r} or extension {ext!r} cannot be written.")
        folder = next((f for f, exts in _FOLDERS.items() if ext in exts), "other")
        path = f"assets/{kind}/{folder}/{number}.{ext}"
        kept.append({"type": kind, "uri": "embeded://" + path, "name": name, "ext": ext})
        files.append((path, data, zipfile.ZIP_STORED if ext in _PACKED else zipfile.ZIP_DEFLATED))
    card["data"]["assets"] = kept
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data, method in [("card.json", _card_json(card), zipfile.ZIP_DEFLATED), *files]:
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            archive.writestr(info, data)
    return buffer.getvalue()
