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

import base64
import functools
import math
import re
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
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
_COLORMAP_FILE = Path(__file__).with_name("data") / "colormaps.npz"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def target_width_setting() -> int:
    return int(getattr(settings, "FRAMES_TARGET_WIDTH", 150))


def max_width_setting() -> int:
    return int(getattr(settings, "FRAMES_MAX_WIDTH", 4096))


def max_upload_bytes_setting() -> int:
    return int(getattr(settings, "FRAMES_MAX_UPLOAD_BYTES", 50 * 1024 * 1024))


def max_range_rows_setting() -> int:
    return int(getattr(settings, "FRAMES_MAX_RANGE_ROWS", 2000))


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


class FrameRangeError(FrameError):
    pass


class UnknownColormap(FrameError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Unknown colormap {name!r}. Valid colormaps: {', '.join(colormap_names())}.")


@dataclass(frozen=True)
class ParsedFrames:
    depths: np.ndarray  # float64, ascending
    pixels: np.ndarray  # float64 (rows, source width), 0-255, same order as depths


@dataclass(frozen=True)
class IngestResult:
    dataset: DepthDataset
    created: bool


@dataclass(frozen=True)
class RangeQuery:
    depth_min: float | None
    depth_max: float | None
    colormap: str


@dataclass(frozen=True)
class Frames:
    depths: np.ndarray  # float64, ascending
    pixels: np.ndarray  # uint8 (rows, width)

    def __len__(self) -> int:
        return len(self.depths)


# Colormaps ----------------------------------------------------------------------------------------------


@functools.cache
def _colormap_tables() -> dict[str, np.ndarray]:
    with np.load(_COLORMAP_FILE) as data:
        return dict(zip(data["names"].tolist(), data["tables"], strict=True))


def colormap_names() -> list[str]:
    """Every Matplotlib colormap name, `_r` variants included, in Matplotlib's case-insensitive order."""
    return list(_colormap_tables())


def colormap_table(name: str) -> np.ndarray:
    """The (256, 3) uint8 RGB table of a Matplotlib colormap; level v maps like imshow(vmin=0, vmax=255)."""
    try:
        return _colormap_tables()[name]
    except KeyError:
        raise UnknownColormap(name) from None


DEFAULT_COLORMAP = "viridis"


# Datasets and queries -----------------------------------------------------------------------------------


def parse_range_query(params: Mapping[str, str]) -> RangeQuery:
    """depth_min, depth_max and colormap from a query string; errors are FrameError."""
    colormap = (params.get("colormap") or "").strip() or DEFAULT_COLORMAP
    colormap_table(colormap)
    return RangeQuery(
        depth_min=parse_depth(params.get("depth_min"), "depth_min"),
        depth_max=parse_depth(params.get("depth_max"), "depth_max"),
        colormap=colormap,
    )


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
    """Parse and validate a pixel CSV; the rules are in the module docstring."""
    _check_size(len(data))
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    data = data.rstrip(b"\n\t ")
    if not data:
        raise FrameCsvError("The file is empty.")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FrameCsvError(
            f"The file is not UTF-8 text (byte {error.start + 1} cannot be read).",
            line=data.count(b"\n", 0, error.start) + 1,
        ) from None

    header, _, body = data.partition(b"\n")
    width = _parse_header(header.decode("utf-8"))
    if not body:
        raise FrameCsvError("The file has a header but no data rows.")

    raw = np.frombuffer(body + b"\n", dtype=np.uint8)
    separators = np.flatnonzero((raw == ord(",")) | (raw == ord("\n")))  # one per field: its end
    line_ends = np.flatnonzero(raw[separators] == ord("\n"))  # index in `separators` of each line end
    fields_per_line = np.diff(line_ends, prepend=-1)
    ragged = np.flatnonzero(fields_per_line != width + 1)
    if ragged.size:
        row = int(ragged[0])
        raise FrameCsvError(
            f"the row has {fields_per_line[row]} fields; the header has {width + 1} "
            f"(depth and {width} pixel columns).",
            line=row + 2,
        )

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
            raise FrameCsvError("the depth is missing.", line=row + 2)
        raise FrameCsvError(
            f"col{column} is empty. Empty and NaN pixels are not accepted: fill them and upload again.",
            line=row + 2,
        )

    depths = _parse_depths(raw, starts[:, 0], ends[:, 0])
    pixels = _parse_pixels(raw, starts[:, 1:], ends[:, 1:])

    order = np.argsort(depths, kind="stable")
    sorted_depths = depths[order]
    repeats = np.flatnonzero(sorted_depths[1:] == sorted_depths[:-1])
    if repeats.size:
        first, second = sorted((int(order[repeats[0]]), int(order[repeats[0] + 1])))
        raise FrameCsvError(
            f"depth {format_depth(depths[second])} is already on line {first + 2}; depths must be unique.",
            line=second + 2,
        )
    return ParsedFrames(depths=sorted_depths, pixels=pixels[order])


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


_MAX_FIELD_CHARS = 64


def _field_strings(raw: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The fields' bytes as a NumPy bytes array shaped like `starts`, gathered without a Python loop.

    Each field is copied into a NUL-padded row of a (fields, longest) byte matrix, which NumPy reads as
    fixed-width byte strings (trailing NULs are not part of the value).
    """
    lengths = ends - starts
    longest = int(lengths.max())
    if longest > _MAX_FIELD_CHARS:
        lengths = np.minimum(lengths, _MAX_FIELD_CHARS)  # a value this long is not a number anyway
        longest = _MAX_FIELD_CHARS
    offsets = np.arange(longest)
    chars = raw[np.minimum(starts[..., None] + offsets, len(raw) - 1)]
    chars[offsets >= lengths[..., None]] = 0
    return chars.view(f"S{longest}")[..., 0]


def _to_float(strings: np.ndarray, describe: Any) -> np.ndarray:
    try:
        return strings.astype(np.float64)
    except ValueError:
        pass
    # Error path only: find the first cell float() refuses, to name it.
    for index, text in enumerate(strings.ravel().tolist()):
        try:
            float(text)
        except ValueError:
            row, column = np.unravel_index(index, strings.shape) if strings.ndim > 1 else (index, 0)
            shown = text.decode("utf-8", "replace")
            raise FrameCsvError(describe(int(column), shown), line=int(row) + 2) from None
    raise AssertionError("unreachable: NumPy refused a value float() accepts")


def _parse_depths(raw: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    depths = _to_float(
        _field_strings(raw, starts, ends), lambda _column, text: f"the depth {text!r} is not a number."
    )
    bad = np.flatnonzero(~np.isfinite(depths))
    if bad.size:
        raise FrameCsvError(f"the depth {depths[bad[0]]} is not a finite number.", line=int(bad[0]) + 2)
    return depths


def _parse_pixels(raw: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    lengths = ends - starts
    pixels = _parse_small_integers(raw, ends, lengths)
    if pixels is None:
        pixels = _to_float(
            _field_strings(raw, starts, ends),
            lambda column, text: f"col{column + 1} value {text!r} is not a number.",
        )
        bad = np.argwhere(np.isnan(pixels))
        if bad.size:
            row, column = (int(value) for value in bad[0])
            raise FrameCsvError(
                f"col{column + 1} is NaN. Empty and NaN pixels are not accepted: fill them and upload again.",
                line=row + 2,
            )
    bad = np.argwhere((pixels < 0) | (pixels > 255))
    if bad.size:
        row, column = (int(value) for value in bad[0])
        raise FrameCsvError(
            f"col{column + 1} value {format_depth(pixels[row, column])} is outside 0-255.", line=row + 2
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


@functools.lru_cache(maxsize=32)
def resampling_weights(source_width: int, target_width: int) -> np.ndarray:
    """(source_width, target_width) matrix: output column j = input row @ weights[:, j].

    Triangle filter centred on each output pixel, its support stretched by the reduction factor when
    shrinking (antialiasing), normalised so every output is a weighted mean of the inputs.
    """
    scale = source_width / target_width
    support_scale = max(scale, 1.0)
    centres = (np.arange(target_width) + 0.5) * scale
    distance = (np.arange(source_width)[:, None] + 0.5 - centres[None, :]) / support_scale
    weights = np.clip(1.0 - np.abs(distance), 0.0, None)
    weights /= weights.sum(axis=0, keepdims=True)
    weights.setflags(write=False)
    return weights


def resample_rows(pixels: np.ndarray, target_width: int) -> np.ndarray:
    """Resample every row to target_width; float64 result, before rounding."""
    return pixels @ resampling_weights(pixels.shape[1], target_width)


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
    parsed = parse_csv(data)
    levels = to_levels(resample_rows(parsed.pixels, target_width))
    depths = parsed.depths
    fields = {
        "width": target_width,
        "source_width": parsed.pixels.shape[1],
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
        DepthFrameChunk.objects.bulk_create(
            DepthFrameChunk(
                dataset=dataset,
                index=index,
                row_count=len(depths[start : start + CHUNK_ROWS]),
                depth_min=float(depths[start]),
                depth_max=float(depths[min(start + CHUNK_ROWS, len(depths)) - 1]),
                depths=depths[start : start + CHUNK_ROWS].astype("<f8").tobytes(),
                pixels=levels[start : start + CHUNK_ROWS].tobytes(),
            )
            for index, start in enumerate(range(0, len(depths), CHUNK_ROWS))
        )
    return IngestResult(dataset=dataset, created=created)


def load_frames(
    dataset: DepthDataset,
    depth_min: float | None = None,
    depth_max: float | None = None,
    *,
    max_rows: int | None = None,
) -> Frames:
    """The frames with depth_min <= depth <= depth_max (bounds inclusive, None = the dataset's end)."""
    low = dataset.depth_min if depth_min is None else depth_min
    high = dataset.depth_max if depth_max is None else depth_max
    if low > high:
        raise FrameRangeError(
            f"depth_min ({format_depth(low)}) must not be greater than depth_max ({format_depth(high)})."
        )
    chunks = list(
        dataset.chunks.filter(depth_max__gte=low, depth_min__lte=high)
        .order_by("index")
        .values_list("depths", "pixels")
    )
    if not chunks:
        return Frames(np.empty(0), np.empty((0, dataset.width), dtype=np.uint8))
    depths = np.concatenate([np.frombuffer(chunk_depths, dtype="<f8") for chunk_depths, _ in chunks])
    pixels = np.concatenate([np.frombuffer(chunk_pixels, dtype=np.uint8) for _, chunk_pixels in chunks])
    first = int(np.searchsorted(depths, low, side="left"))
    last = int(np.searchsorted(depths, high, side="right"))
    limit = max_range_rows_setting() if max_rows is None else max_rows
    if last - first > limit:
        raise FrameRangeError(
            f"Depths {format_depth(low)} to {format_depth(high)} hold {last - first} frames; at most "
            f"{limit} can be requested at once. Narrow depth_min/depth_max."
        )
    return Frames(depths[first:last], pixels.reshape(-1, dataset.width)[first:last])


def first_depths(dataset: DepthDataset, count: int) -> tuple[float, float]:
    """The depth range of the dataset's first `count` frames (a default view that fits the range limit)."""
    if count >= dataset.row_count:
        return dataset.depth_min, dataset.depth_max
    index, offset = divmod(count - 1, CHUNK_ROWS)
    chunk_depths = dataset.chunks.values_list("depths", flat=True).get(index=index)
    return dataset.depth_min, float(np.frombuffer(chunk_depths, dtype="<f8")[offset])


# Rendering ----------------------------------------------------------------------------------------------


def colorize(pixels: np.ndarray, colormap: str) -> np.ndarray:
    """(rows, width) levels -> (rows, width, 3) RGB through the colormap's table."""
    return np.take(colormap_table(colormap), pixels, axis=0)  # several times faster than table[pixels]


def render_png(pixels: np.ndarray, colormap: str) -> bytes:
    """The (rows, width) levels as an indexed-colour PNG whose palette is the colormap.

    A colormapped image has at most 256 colours, so the levels go into the PNG as they are (one byte per
    pixel) and the decoder applies the colormap: a third of the bytes to compress compared with RGB, and no
    colour lookup on the server.
    """
    rows, width = pixels.shape
    scanlines = np.zeros((rows, 1 + width), dtype=np.uint8)  # filter byte 0 (none) on each line
    scanlines[:, 1:] = pixels
    header = struct.pack(">IIBBBBB", width, rows, 8, 3, 0, 0, 0)  # 8-bit indexed colour, no interlace
    return (
        _PNG_SIGNATURE
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"PLTE", colormap_table(colormap).tobytes())
        + _png_chunk(b"IDAT", _deflate_fast(scanlines.tobytes()))
        + _PNG_END
    )


def encode_row_pngs(rgb: np.ndarray) -> list[bytes]:
    """One 1-pixel-high RGB PNG per row of a (rows, width, 3) array."""
    return [bytes(png) for png in _row_png_matrix(rgb)]


def encode_row_pngs_base64(rgb: np.ndarray) -> list[str]:
    """encode_row_pngs, base64-encoded, with one base64 call for all rows.

    Every row PNG is 69 + 3 * width bytes, a multiple of 3, so the base64 of their concatenation splits
    into each PNG's own base64 at every (4 / 3) * length characters.
    """
    pngs = _row_png_matrix(rgb)
    text = base64.b64encode(pngs.tobytes()).decode("ascii")
    step = pngs.shape[1] // 3 * 4
    return [text[start : start + step] for start in range(0, len(text), step)]


def _row_png_matrix(rgb: np.ndarray) -> np.ndarray:
    """(rows, png length) bytes: row i is a complete 1-pixel-high PNG of rgb[i].

    Per-call zlib set-up would dominate for hundreds of tiny images, so every row PNG is laid out at once in
    one byte matrix with an uncompressed (stored) deflate block; only the chunk CRC is computed row by row.
    """
    rows, width, _ = rgb.shape
    line = 1 + width * 3  # filter byte + RGB
    head = _PNG_SIGNATURE + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, 1, 8, 2, 0, 0, 0))
    # zlib header and one final stored block of `line` bytes; Adler-32 and the chunk CRC follow the data.
    stored = b"\x78\x01\x01" + struct.pack("<HH", line, line ^ 0xFFFF)
    idat_head = struct.pack(">I", line + 11) + b"IDAT" + stored
    out = np.zeros((rows, len(head) + len(idat_head) + line + 8 + len(_PNG_END)), dtype=np.uint8)
    out[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    data_at = len(head) + len(idat_head)
    out[:, len(head) : data_at] = np.frombuffer(idat_head, dtype=np.uint8)
    data = out[:, data_at : data_at + line]
    data[:, 1:] = rgb.reshape(rows, width * 3)
    values = data.astype(np.int64)
    low = (1 + values.sum(axis=1)) % 65521
    high = (line + values @ np.arange(line, 0, -1)) % 65521  # Adler-32, all rows at once
    out[:, data_at + line : data_at + line + 4] = ((high << 16) | low).astype(">u4")[:, None].view(np.uint8)
    crc_from, crc_at = len(head) + 4, data_at + line + 4
    crcs = np.array([zlib.crc32(chunk) for chunk in out[:, crc_from:crc_at]], dtype=">u4")
    out[:, crc_at : crc_at + 4] = crcs[:, None].view(np.uint8)
    out[:, crc_at + 4 :] = np.frombuffer(_PNG_END, dtype=np.uint8)
    return out


def _deflate_fast(data: bytes) -> bytes:
    # PNG encoding sits on the request path. Run-length deflate at level 1 is about twice as fast as plain
    # level 1 (and many times faster than the default 6) for indexed images, at nearly the same size.
    compressor = zlib.compressobj(1, zlib.DEFLATED, 15, 8, zlib.Z_RLE)
    return compressor.compress(data) + compressor.flush()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def depth_ticks(depths: np.ndarray, count: int = 6) -> list[dict[str, Any]]:
    """Evenly spaced labels for a depth axis: the depth of a row and its centre as a % of the image height."""
    rows = len(depths)
    if rows == 0:
        return []
    indices = np.unique(np.rint(np.linspace(0, rows - 1, min(count, rows))).astype(int))
    return [
        {"depth": format_depth(float(depths[index])), "percent": round((index + 0.5) / rows * 100, 3)}
        for index in indices
    ]


def parse_depth(value: str | None, name: str) -> float | None:
    """A depth bound from a query string: None when absent, FrameRangeError when not a finite number."""
    if value is None or value.strip() == "":
        return None
    try:
        number = float(value)
    except ValueError:
        raise FrameRangeError(f"{name} must be a number, got {value!r}.") from None
    if not math.isfinite(number):
        raise FrameRangeError(f"{name} must be a finite number, got {value!r}.")
    return number
