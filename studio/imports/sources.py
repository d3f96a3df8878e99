"""Reading an import file: size limits, encoding and delimiter detection, the format (CSV, JSON, card)."""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    from studio.imports.mapping import ColumnMapping

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_ROWS = 100_000
DEFAULT_MAX_COLUMNS = 200
DEFAULT_PREVIEW_ROWS = 1000
DEFAULT_BACKGROUND_ROWS = 2000
BATCH_SIZE = 1000
SAMPLE_BYTES = 64 * 1024

Progress = Callable[[int, int], None]
Source = str | bytes | bytearray | memoryview | IO[bytes]


def max_bytes() -> int:
    return int(getattr(settings, "CHARACTER_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def max_rows() -> int:
    return int(getattr(settings, "CHARACTER_IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS))


def max_columns() -> int:
    """Columns a CSV may have: each becomes a mapping choice on the preview page."""
    return int(getattr(settings, "CHARACTER_IMPORT_MAX_COLUMNS", DEFAULT_MAX_COLUMNS))


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


def limit_message(size: int, limit: int | None = None) -> str:
    limit = limit or max_bytes()
    return (
        f"The file is {size / 1_048_576:.1f} MB; the limit is {limit / 1_048_576:.0f} MB. "
        "Split it into smaller files."
    )


def check_size(size: int, limit: int | None = None) -> None:
    """Raise ImportProblem when an upload of ``size`` bytes is over the limit (call before reading it)."""
    if size > (limit or max_bytes()):
        raise ImportProblem(limit_message(size, limit))


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


def binary_stream(data: bytes | bytearray | memoryview | IO[bytes]) -> IO[bytes]:
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
    stream = binary_stream(data)
    encoding, errors = _detect_encoding(stream)
    return bytes(data).decode(encoding, errors=errors)


@dataclass(frozen=True)
class Text:
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


def open_text(data: Source) -> Text:
    if isinstance(data, str):
        if len(data) > max_bytes():
            raise ImportProblem(limit_message(len(data)))
        if not data.strip().lstrip("\ufeff").strip():
            raise ImportProblem("The file is empty.")
        if "\x00" in data[:SAMPLE_BYTES] or _control_ratio(data[:8192]) > 0.05:
            raise ImportProblem(_BINARY)
        text = data[1:] if data.startswith("\ufeff") else data
        sample = text[:SAMPLE_BYTES]
        # StringIO would hold a 4-bytes-per-character copy; slicing lines keeps one line at a time.
        lines = io.StringIO(text, newline="") if "\r" in sample and "\n" not in sample else _lines(text)
        return Text(lines, "text", sample, lambda: None)
    stream = binary_stream(data)
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

    return Text(
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


CSV, JSON, CARD, CHARX = "csv", "json", "card", "charx"
_JSON_START = re.compile(rb'\s*(?:\{\s*(?:"|\})|\[\s*(?:[{\["\]0-9-]|true\b|false\b|null\b))')
_ZIP_TAIL = 22 + 0xFFFF  # the end-of-central-directory record and the longest comment


def detect_format(source: IO[bytes] | bytes, name: str = "") -> str:
    """CSV, JSON, a PNG card or a CHARX, judged by content first (the web and the CLI both ask here).

    A PNG signature is a card; a zip whose directory names ``card.json`` is a CHARX (other zips, such as
    Excel files, go on to the CSV reader, which explains them); text that starts like a JSON object or
    array ("{" then a key, "[" then a value) is JSON, so a CSV whose first header starts with "[" stays a
    CSV and JSON named .csv is JSON. The name only decides between zips (.charx/.zip: a CHARX) and for
    files whose content is no format at all, so that a broken .png or .charx gets the card reader's message.
    """
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    suffix = name.rsplit(".", 1)[-1].casefold() if "." in name else ""
    start = stream.tell()
    head = stream.read(SAMPLE_BYTES)
    size = stream.seek(0, io.SEEK_END) - start
    try:
        if head.startswith(b"\x89PNG\r\n\x1a\n"):
            return CARD
        if head.startswith(b"PK\x03\x04"):
            stream.seek(start + max(size - _ZIP_TAIL, 0))
            if suffix in ("charx", "zip") or b"card.json" in stream.read(_ZIP_TAIL):
                return CHARX
        text = head.removeprefix(codecs.BOM_UTF8)
        if _JSON_START.match(text):
            return JSON
    finally:
        stream.seek(start)
    if suffix == "png":
        return CARD
    if suffix in ("charx", "zip") and not head.startswith(b"PK\x03\x04"):
        return CHARX
    return CSV
