"""Depth-frame CSV ingest and rendering.

A pixel CSV has a header `depth,col1,...,colN` (N from 1 to FRAMES_MAX_WIDTH) and one image line per row:
a depth followed by N intensities from 0 to 255. Ingest parses the whole file with NumPy (no per-row or
per-pixel Python loop), resamples every row to the target width with one matrix product, and stores the
frames sorted by depth in chunks of CHUNK_ROWS rows, written with one bulk insert.

Input rules (each violation raises FrameCsvError naming the file line, 1-based, header = line 1):

- the file is UTF-8 text (a BOM and CRLF line ends are accepted), not empty and at most
  FRAMES_MAX_UPLOAD_BYTES; blank lines at the end are ignored, a blank line elsewhere is a ragged row;
- the header is exactly `depth` then `col1` ... `colN` in order (case, spaces and double quotes ignored);
- every row has N + 1 fields; the depth is a finite number and no depth appears twice (rows may come in any
  order: frames are stored and served in depth order);
- pixel values are numbers from 0 to 255 (decimals are accepted).

Empty and NaN pixels are rejected, never guessed: an image line with a hole is reported with its line and
column so the user can fill it (with 0, an interpolation, whatever their data calls for) and upload again.
Silently painting holes black would put false structure into a geoscience image.

Resampling is a triangle (bilinear) filter whose support widens with the reduction factor, the antialiased
resize Pillow applies for Image.BILINEAR, so shrinking 200 columns to 150 averages neighbours rather than
dropping columns. Resampled values are rounded half up and clipped to 0-255.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from studio.frames.models import DepthDataset, DepthFrameChunk

CHUNK_ROWS = 256
DATASET_NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}"
DATASET_NAME_HELP = "1-100 letters, digits, '.', '-' or '_', starting with a letter or digit."
_DATASET_NAME = re.compile(DATASET_NAME_PATTERN)


def target_width_setting() -> int:
    return int(getattr(settings, "FRAMES_TARGET_WIDTH", 150))


def max_width_setting() -> int:
    return int(getattr(settings, "FRAMES_MAX_WIDTH", 4096))


def max_upload_bytes_setting() -> int:
    return int(getattr(settings, "FRAMES_MAX_UPLOAD_BYTES", 50 * 1024 * 1024))


def max_cells_setting() -> int:
    return int(getattr(settings, "FRAMES_MAX_CELLS", 32_000_000))


class FrameError(Exception):
    """A problem with the user's input, worded for the user; views turn it into a 4xx."""

    status = 400

    def __init__(self, message: str, *, line: int | None = None) -> None:
        self.message = f"Line {line}: {message}" if line is not None else message
        self.line = line
        super().__init__(self.message)


class FrameCsvError(FrameError):
    pass


class FrameFileTooLarge(FrameCsvError):
    status = 413


@dataclass(frozen=True)
class ParsedFrames:
    depths: np.ndarray  # float64, ascending
    pixels: np.ndarray  # float64 (rows, source width), 0-255, same order as depths


@dataclass(frozen=True)
class IngestResult:
    dataset: DepthDataset
    created: bool


def read_upload(upload: UploadedFile) -> bytes:
    """The uploaded file's bytes, refused before reading when it is over FRAMES_MAX_UPLOAD_BYTES."""
    if upload.size is not None:
        _check_size(upload.size)
    return upload.read()


def _check_size(size: int) -> None:
    if size > max_upload_bytes_setting():
        raise FrameFileTooLarge(
            f"The file is {size:,} bytes; the limit is {max_upload_bytes_setting():,} bytes."
        )


# Parsing ------------------------------------------------------------------------------------------------


def validate_dataset_name(name: str) -> str:
    name = name.strip()
    if not _DATASET_NAME.fullmatch(name):
        raise FrameError(f"Dataset name {name!r} is not valid: {DATASET_NAME_HELP}")
    return name


def parse_csv(data: bytes) -> ParsedFrames:
    """Parse and validate a pixel CSV; the rules are in the module docstring.

    Holds every source pixel as float64: ingest_csv streams the same blocks into target-width levels instead.
    """
    layout = _layout(data)
    depths, pixels = [], []
    for block_depths, block_pixels in _parse_blocks(layout):
        depths.append(block_depths)
        pixels.append(block_pixels)
    all_depths = np.concatenate(depths)
    order = _depth_order(all_depths)
    return ParsedFrames(depths=all_depths[order], pixels=np.concatenate(pixels)[order])


@dataclass(frozen=True)
class _Layout:
    """Where the rows of a checked pixel CSV lie: data[start:end], `rows` lines, `width` pixel columns."""

    data: bytes
    start: int
    end: int
    rows: int
    width: int


def _layout(data: bytes) -> _Layout:
    """The header checked and the rows counted, without parsing the rows (copied only for CR line ends)."""
    _check_size(len(data))
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    end = len(data)
    while end > start:  # trailing blank lines, looked at 4 KB at a time (no copy of the whole file)
        tail = data[max(start, end - 4096) : end]
        kept = len(tail.rstrip(b"\n\t "))
        end -= len(tail) - kept
        if kept:
            break
    if end == start:
        raise FrameCsvError("The file is empty.")
    header_end = data.find(b"\n", start, end)
    header_end = end if header_end == -1 else header_end
    try:
        header = data[start:header_end].decode("utf-8")
    except UnicodeDecodeError as error:
        raise FrameCsvError(
            f"The file is not UTF-8 text (byte {error.start + 1} cannot be read).", line=1
        ) from None
    width = _parse_header(header)
    if header_end >= end:
        raise FrameCsvError("The file has a header but no data rows.")
    body = header_end + 1
    return _Layout(data, body, end, data.count(b"\n", body, end) + 1, width)


# Rows are parsed a block of lines at a time, so that the index arrays (8 bytes per field) stay small
# whatever the file's size; a block holds whole lines and at least one.
_BLOCK_BYTES = 1024 * 1024
# The longest text a pixel or depth may be: "-1.2345678901234567e+100" has 24 characters, a padded decimal a
# few more. A longer cell is refused with its line, never cut (a cut number is a different number).
_MAX_FIELD_CHARS = 32
_NUMBER = re.compile(rb"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*")
# Bytes a number may contain, plus the separators; any other byte in a block means a cell to report.
_NUMBER_BYTES = np.zeros(256, dtype=bool)
_NUMBER_BYTES[np.frombuffer(b"0123456789.+-eE \t,\n", dtype=np.uint8)] = True


def _parse_blocks(layout: _Layout) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(depths, float64 pixels) of each block of rows, in file order; errors name the first bad line."""
    data, width = layout.data, layout.width
    window = max(_BLOCK_BYTES, 2 * (width + 1) * (_MAX_FIELD_CHARS + 1))
    position, line = layout.start, 2
    while position < layout.end:
        stop = min(position + window, layout.end)
        cut = layout.end if stop == layout.end else data.rfind(b"\n", position, stop) + 1
        if cut <= position:  # one line longer than any valid line can be
            line_end = data.find(b"\n", position, layout.end)
            _refuse_long_line(data, position, layout.end if line_end == -1 else line_end, width, line)
        block = np.frombuffer(data, dtype=np.uint8, count=cut - position, offset=position)
        if block[-1] != ord("\n"):
            block = np.append(block, np.uint8(ord("\n")))
        try:
            bytes(block).decode("utf-8")
        except UnicodeDecodeError as error:
            raise FrameCsvError(
                f"The file is not UTF-8 text (byte {position - layout.start + error.start + 1} of the rows "
                "cannot be read).",
                line=line + int(np.count_nonzero(block[: error.start] == ord("\n"))),
            ) from None
        depths, pixels = _parse_block(block, width, line)
        yield depths, pixels
        line += len(depths)
        position = cut


def _refuse_long_line(data: bytes, start: int, end: int, width: int, line: int) -> None:
    """The error of a line too long to be valid, found without splitting it into Python objects."""
    fields = data.count(b",", start, end) + 1
    if fields != width + 1:
        raise FrameCsvError(_ragged_message(fields, width), line=line)
    position = start
    for column in range(width + 1):
        comma = data.find(b",", position, end)
        comma = end if comma == -1 else comma
        if comma - position > _MAX_FIELD_CHARS:
            raise FrameCsvError(_long_cell_message(column, comma - position), line=line)
        position = comma + 1
    raise AssertionError("unreachable: a line this long has a cell this long")


def _ragged_message(fields: int, width: int) -> str:
    return f"the row has {fields} fields; the header has {width + 1} (depth and {width} pixel columns)."


def _long_cell_message(column: int, length: int) -> str:
    cell = "the depth" if column == 0 else f"col{column}"
    return f"{cell} is {length:,} characters long; a number here has at most {_MAX_FIELD_CHARS}."


def _parse_block(raw: np.ndarray, width: int, first_line: int) -> tuple[np.ndarray, np.ndarray]:
    """Depths and pixels of whole lines in `raw` (which ends with a newline); first_line is raw's line."""
    separators = np.flatnonzero((raw == ord(",")) | (raw == ord("\n")))  # one per field: its end
    line_ends = np.flatnonzero(raw[separators] == ord("\n"))  # index in `separators` of each line end
    fields_per_line = np.diff(line_ends, prepend=-1)
    ragged = np.flatnonzero(fields_per_line != width + 1)
    if ragged.size:
        row = int(ragged[0])
        raise FrameCsvError(_ragged_message(int(fields_per_line[row]), width), line=first_line + row)

    rows = len(line_ends)
    ends = separators.reshape(rows, width + 1)
    starts = np.empty_like(ends)
    starts.flat[0] = 0
    starts.flat[1:] = separators[:-1] + 1
    lengths = ends - starts

    empty = np.argwhere(lengths == 0)
    if empty.size:
        row, column = (int(value) for value in empty[0])
        if column == 0:
            raise FrameCsvError("the depth is missing.", line=first_line + row)
        raise FrameCsvError(
            f"col{column} is empty. Empty and NaN pixels are not accepted: fill them and upload again.",
            line=first_line + row,
        )
    too_long = np.argwhere(lengths > _MAX_FIELD_CHARS)
    if too_long.size:
        row, column = (int(value) for value in too_long[0])
        raise FrameCsvError(_long_cell_message(column, int(lengths[row, column])), line=first_line + row)
    if not _NUMBER_BYTES[raw].all():
        _refuse_first_non_number(raw, starts, ends, first_line)

    try:
        depths = _parse_depths(raw, starts[:, 0], ends[:, 0], first_line)
        pixels = _parse_pixels(raw, starts[:, 1:], ends[:, 1:], first_line)
    except _NotANumber:
        _refuse_first_non_number(raw, starts, ends, first_line)
        raise
    return depths, pixels


def _depth_order(depths: np.ndarray) -> np.ndarray:
    """The rows' order by depth; FrameCsvError naming both lines when a depth appears twice."""
    order = np.argsort(depths, kind="stable")
    sorted_depths = depths[order]
    repeats = np.flatnonzero(sorted_depths[1:] == sorted_depths[:-1])
    if repeats.size:
        first, second = sorted((int(order[repeats[0]]), int(order[repeats[0] + 1])))
        raise FrameCsvError(
            f"depth {format_depth(depths[second])} is already on line {first + 2}; depths must be unique.",
            line=second + 2,
        )
    return order


def _parse_header(header: str) -> int:
    names = [name.strip().strip('"').strip().lower() for name in header.split(",")]
    if names[0] != "depth":
        raise FrameCsvError(f"the header must start with 'depth', found {names[0]!r}.", line=1)
    width = len(names) - 1
    if width < 1:
        raise FrameCsvError("the header has no pixel columns (expected depth,col1,col2,...).", line=1)
    if width > max_width_setting():
        raise FrameCsvError(
            f"the header has {width} pixel columns; at most {max_width_setting()} are supported.", line=1
        )
    for position, name in enumerate(names[1:], start=1):
        if name != f"col{position}":
            raise FrameCsvError(
                f"header column {position + 1} is {name!r}; expected 'col{position}' "
                "(pixel columns are col1, col2, ... in order).",
                line=1,
            )
    return width


def _field_strings(raw: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The fields' bytes as a NumPy bytes array shaped like `starts`, without a Python loop per field.

    Each field is copied into a NUL-padded row of a (fields, longest) byte matrix, one character position at
    a time (so no index matrix of that shape), which NumPy reads as fixed-width byte strings. Fields are at
    most _MAX_FIELD_CHARS long (checked before).
    """
    flat_starts, flat_lengths = starts.ravel(), (ends - starts).ravel()
    longest = int(flat_lengths.max())
    chars = np.zeros((flat_starts.size, longest), dtype=np.uint8)
    for offset in range(longest):
        present = flat_lengths > offset
        chars[present, offset] = raw[flat_starts[present] + offset]
    return chars.view(f"S{longest}")[:, 0].reshape(starts.shape)


def _refuse_first_non_number(raw: np.ndarray, starts: np.ndarray, ends: np.ndarray, first_line: int) -> None:
    """Error path only: the first cell (in file order) that is not a plain decimal number."""
    text = raw.tobytes()
    for row in range(starts.shape[0]):
        for column in range(starts.shape[1]):
            cell = text[starts[row, column] : ends[row, column]]
            if not _NUMBER.fullmatch(cell) or not _reads_as_float(cell):
                raise FrameCsvError(_non_number_message(column, cell), line=first_line + row)
    raise AssertionError("unreachable: NumPy refused a value float() and the number pattern accept")


def _reads_as_float(cell: bytes) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _non_number_message(column: int, cell: bytes) -> str:
    shown = cell.decode("utf-8", "replace")
    word = shown.strip().lower().lstrip("+-")
    if column == 0:
        if word in ("nan", "inf", "infinity"):
            return f"the depth {shown.strip()} is not a finite number."
        return f"the depth {shown!r} is not a number."
    if word == "nan":
        return f"col{column} is NaN. Empty and NaN pixels are not accepted: fill them and upload again."
    return f"col{column} value {shown!r} is not a number."


class _NotANumber(Exception):
    """A cell NumPy cannot read: _parse_block finds and names it."""


def _to_float(strings: np.ndarray) -> np.ndarray:
    try:
        return strings.astype(np.float64)
    except ValueError:
        raise _NotANumber from None


def _parse_depths(raw: np.ndarray, starts: np.ndarray, ends: np.ndarray, first_line: int) -> np.ndarray:
    depths = _to_float(_field_strings(raw, starts, ends))
    bad = np.flatnonzero(~np.isfinite(depths))
    if bad.size:
        raise FrameCsvError(
            f"the depth {depths[bad[0]]} is not a finite number.", line=first_line + int(bad[0])
        )
    return depths


def _parse_pixels(raw: np.ndarray, starts: np.ndarray, ends: np.ndarray, first_line: int) -> np.ndarray:
    lengths = ends - starts
    pixels = _parse_small_integers(raw, ends, lengths)
    if pixels is None:
        pixels = _to_float(_field_strings(raw, starts, ends))
        bad = np.argwhere(np.isnan(pixels))
        if bad.size:
            row, column = (int(value) for value in bad[0])
            raise FrameCsvError(
                f"col{column + 1} is NaN. Empty and NaN pixels are not accepted: fill them and upload again.",
                line=first_line + row,
            )
    bad = np.argwhere((pixels < 0) | (pixels > 255))
    if bad.size:
        row, column = (int(value) for value in bad[0])
        raise FrameCsvError(
            f"col{column + 1} value {format_depth(pixels[row, column])} is outside 0-255.",
            line=first_line + row,
        )
    return pixels


def _parse_small_integers(raw: np.ndarray, ends: np.ndarray, lengths: np.ndarray) -> np.ndarray | None:
    """Fast path for the usual file: every pixel is a plain integer of 1 to 3 digits. None otherwise.

    Reads the last three bytes of every field at once; a field's digits are exactly its last `length` bytes
    (every pixel field has at least the depth and a comma before it, so `ends - 3` stays in the file).
    """
    if lengths.max() > 3:
        return None
    zero = np.uint8(ord("0"))
    # Non-digits wrap around to values above 9; bytes before a short field's start are multiplied away.
    ones = raw[ends - 1] - zero
    tens = (raw[ends - 2] - zero) * (lengths >= 2)
    hundreds = (raw[ends - 3] - zero) * (lengths >= 3)
    if max(ones.max(), tens.max(), hundreds.max()) > 9:
        return None
    return (hundreds.astype(np.uint16) * 100 + tens.astype(np.uint16) * 10 + ones).astype(np.float64)


def format_depth(value: float) -> str:
    """The shortest text that reads back as the same float (so a shown bound selects the same frames)."""
    text = repr(float(value))
    return text.removesuffix(".0")


# Resampling ---------------------------------------------------------------------------------------------


# Above this many bytes a weight matrix is neither cached nor built whole (4096 -> 4096 would be 134 MB).
_WEIGHTS_BYTES = 8 * 1024 * 1024


@functools.lru_cache(maxsize=32)
def resampling_weights(source_width: int, target_width: int) -> np.ndarray:
    """(source_width, target_width) matrix: output column j = input row @ weights[:, j].

    Triangle filter centred on each output pixel, its support stretched by the reduction factor when
    shrinking (antialiasing), normalised so every output is a weighted mean of the inputs.
    """
    weights = _weight_columns(source_width, target_width, 0, target_width)
    weights.setflags(write=False)
    return weights


def _weight_columns(source_width: int, target_width: int, first: int, stop: int) -> np.ndarray:
    """Columns first..stop-1 of the weight matrix (each column is computed and normalised on its own)."""
    scale = source_width / target_width
    support_scale = max(scale, 1.0)
    centres = (np.arange(first, stop) + 0.5) * scale
    distance = (np.arange(source_width)[:, None] + 0.5 - centres[None, :]) / support_scale
    weights = np.clip(1.0 - np.abs(distance), 0.0, None)
    weights /= weights.sum(axis=0, keepdims=True)
    return weights


def resample_rows(pixels: np.ndarray, target_width: int) -> np.ndarray:
    """Resample every row to target_width; float64 result, before rounding."""
    source_width = pixels.shape[1]
    if source_width == target_width:  # the weights are the identity
        return pixels.astype(np.float64)
    if source_width * target_width * 8 <= _WEIGHTS_BYTES:
        return pixels @ resampling_weights(source_width, target_width)
    # A wide matrix a band of columns at a time, each band over the source columns it reaches only.
    result = np.empty((len(pixels), target_width))
    step = max(1, _WEIGHTS_BYTES // (8 * source_width))
    for first in range(0, target_width, step):
        stop = min(first + step, target_width)
        weights = _weight_columns(source_width, target_width, first, stop)
        reached = np.flatnonzero(weights.any(axis=1))
        low, high = int(reached[0]), int(reached[-1]) + 1
        result[:, first:stop] = pixels[:, low:high] @ weights[low:high]
    return result


def to_levels(values: np.ndarray) -> np.ndarray:
    """Round half up and clip to 0-255 bytes."""
    return np.clip(np.floor(values + 0.5), 0, 255).astype(np.uint8)


# Storage ------------------------------------------------------------------------------------------------


def ingest_csv(owner: Any, name: str, data: bytes, *, width: int | None = None) -> IngestResult:
    """Parse, resample and store a pixel CSV as the owner's dataset `name`, replacing one of that name.

    Everything is validated before the first write, and the replacement happens in one transaction, so a
    failed upload stores nothing and readers see either the old frames or the new ones.
    """
    name = validate_dataset_name(name)
    target_width = target_width_setting() if width is None else width
    if not 1 <= target_width <= max_width_setting():
        raise FrameError(f"The target width must be from 1 to {max_width_setting()}, got {target_width}.")
    layout = _layout(data)
    _check_cells(layout.rows, target_width)
    # Only the target-width levels of the whole file are kept: each block of rows is parsed, resampled a
    # few rows at a time (a 1-pixel source to 4096 would otherwise be a float64 matrix 8x the levels) and
    # dropped, so memory is the upload plus the levels however the file is shaped.
    levels = np.empty((layout.rows, target_width), dtype=np.uint8)
    depth_blocks = []
    row = 0
    step = max(1, _RESAMPLE_CELLS // max(target_width, layout.width))
    for block_depths, block_pixels in _parse_blocks(layout):
        for start in range(0, len(block_depths), step):
            rows = block_pixels[start : start + step]
            levels[row + start : row + start + len(rows)] = to_levels(resample_rows(rows, target_width))
        depth_blocks.append(block_depths)
        row += len(block_depths)
    depths = np.concatenate(depth_blocks)
    order = _depth_order(depths)
    depths = depths[order]
    fields = {
        "width": target_width,
        "source_width": layout.width,
        "row_count": len(depths),
        "depth_min": float(depths[0]),
        "depth_max": float(depths[-1]),
    }
    with transaction.atomic():
        dataset, created = DepthDataset.objects.select_for_update().get_or_create(
            owner=owner, name=name, defaults=fields
        )
        if not created:
            dataset.chunks.all().delete()
            for field, value in fields.items():
                setattr(dataset, field, value)
            dataset.save()
        # Chunks are built and written a batch at a time, so their bytes never copy all the levels at once.
        starts = range(0, len(depths), CHUNK_ROWS)
        for batch in range(0, len(starts), _CHUNKS_PER_WRITE):
            DepthFrameChunk.objects.bulk_create(
                DepthFrameChunk(
                    dataset=dataset,
                    index=index,
                    row_count=len(depths[start : start + CHUNK_ROWS]),
                    depth_min=float(depths[start]),
                    depth_max=float(depths[min(start + CHUNK_ROWS, len(depths)) - 1]),
                    depths=depths[start : start + CHUNK_ROWS].astype("<f8").tobytes(),
                    pixels=levels[order[start : start + CHUNK_ROWS]].tobytes(),
                )
                for index, start in enumerate(starts[batch : batch + _CHUNKS_PER_WRITE], start=batch)
            )
    return IngestResult(dataset=dataset, created=created)


_RESAMPLE_CELLS = 256 * 1024  # float64 cells resampled at once (2 MB, and as many for the source rows)
_CHUNKS_PER_WRITE = 4  # at 4096 pixels wide a chunk is 1 MB, and bulk_create copies it once more


def _check_cells(rows: int, target_width: int) -> None:
    """Refuse, before anything is parsed or allocated, a dataset over FRAMES_MAX_CELLS stored pixels."""
    limit = max_cells_setting()
    if rows * target_width > limit:
        raise FrameCsvError(
            f"The file has {rows:,} rows; at {target_width:,} pixels wide that is {rows * target_width:,} "
            f"pixels, over the limit of {limit:,} pixels (cells) per dataset. Upload fewer rows or choose a "
            "smaller target width."
        )
