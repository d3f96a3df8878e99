"""Depth frames out: ranges of stored rows, colormapped PNGs (whole images and per-row), axis ticks."""

from __future__ import annotations

import base64
import functools
import math
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import QuerySet, Sum

from studio.frames.ingest import CHUNK_ROWS, FrameError, format_depth, max_width_setting
from studio.frames.models import DepthDataset, DepthFrameChunk

_COLORMAP_FILE = Path(__file__).with_name("data") / "colormaps.npz"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def max_range_rows_setting() -> int:
    return int(getattr(settings, "FRAMES_MAX_RANGE_ROWS", 2000))


class FrameRangeError(FrameError):
    pass


class UnknownColormap(FrameError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Unknown colormap {name!r}. Valid colormaps: {', '.join(colormap_names())}.")


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

# Matplotlib's own grouping (its "Choosing Colormaps" reference), aliases next to the name they repeat.
_COLORMAP_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Perceptually uniform sequential", ("viridis", "plasma", "inferno", "magma", "cividis")),
    (
        "Sequential",
        (
            "Greys", "Grays", "Purples", "Blues", "Greens", "Oranges", "Reds", "YlOrBr", "YlOrRd", "OrRd",
            "PuRd", "RdPu", "BuPu", "GnBu", "PuBu", "YlGnBu", "PuBuGn", "BuGn", "YlGn",
        ),
    ),
    (
        "Sequential (2)",
        (
            "binary", "gist_yarg", "gist_yerg", "gist_gray", "gist_grey", "gray", "grey", "bone", "pink",
            "spring", "summer", "autumn", "winter", "cool", "Wistia", "hot", "afmhot", "gist_heat", "copper",
        ),
    ),
    (
        "Diverging",
        (
            "PiYG", "PRGn", "BrBG", "PuOr", "RdGy", "RdBu", "RdYlBu", "RdYlGn", "Spectral", "coolwarm", "bwr",
            "seismic", "berlin", "managua", "vanimo",
        ),
    ),
    ("Cyclic", ("twilight", "twilight_shifted", "hsv")),
    (
        "Qualitative",
        (
            "Pastel1", "Pastel2", "Paired", "Accent", "Dark2", "Set1", "Set2", "Set3", "tab10", "tab20",
            "tab20b", "tab20c", "okabe_ito",
        ),
    ),
    (
        "Miscellaneous",
        (
            "flag", "prism", "ocean", "gist_earth", "terrain", "gist_stern", "gnuplot", "gnuplot2", "CMRmap",
            "cubehelix", "brg", "gist_rainbow", "rainbow", "jet", "turbo", "nipy_spectral", "gist_ncar",
        ),
    ),
)  # fmt: skip


def colormap_index(name: str) -> int | None:
    """The colormap's row in colormap_swatches_png(), None for an unknown name."""
    names = colormap_names()
    return names.index(name) if name in names else None


@dataclass(frozen=True)
class ColormapChoice:
    name: str
    index: int  # its row in colormap_swatches_png()


@functools.cache
def colormap_groups() -> list[tuple[str, list[ColormapChoice]]]:
    """Every colormap in Matplotlib's groups, each followed by its reversed (_r) twin.

    A name the table holds but no group lists (a colormap added by a later Matplotlib) joins the last group.
    """
    index = {name: position for position, name in enumerate(colormap_names())}
    placed: set[str] = set()
    groups: list[tuple[str, list[ColormapChoice]]] = []
    for label, bases in _COLORMAP_GROUPS:
        choices = []
        for name in (variant for base in bases for variant in (base, base + "_r")):
            if name in index and name not in placed:
                choices.append(ColormapChoice(name, index[name]))
                placed.add(name)
        groups.append((label, choices))
    groups[-1][1].extend(ColormapChoice(name, index[name]) for name in index if name not in placed)
    return groups


SWATCH_WIDTH = 64  # colours per swatch row: a swatch is 4rem wide, and a quarter of the bytes of 256


@functools.cache
def colormap_swatches_png() -> bytes:
    """Every colormap as one 1-pixel-high row of SWATCH_WIDTH colours spanning its levels, in colormap_names()
    order (a CSS sprite)."""
    levels = np.rint(np.linspace(0, 255, SWATCH_WIDTH)).astype(int)
    tables = np.stack([colormap_table(name)[levels] for name in colormap_names()])
    rows, width, _ = tables.shape
    scanlines = np.zeros((rows, 1 + width * 3), dtype=np.uint8)
    scanlines[:, 1:] = tables.reshape(rows, width * 3)
    header = struct.pack(">IIBBBBB", width, rows, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (
        _PNG_SIGNATURE
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(scanlines.tobytes(), 9))
        + _PNG_END
    )


def colormap_swatches_version() -> str:
    """Changes with the sprite's content: browsers keep it for a day, and its rows follow colormap_names()."""
    return f"{zlib.crc32(colormap_swatches_png()):08x}"


def colorbar_png(colormap: str) -> bytes:
    """A vertical colour bar: one pixel wide, level 255 at the top down to 0 at the bottom."""
    return render_png(np.arange(255, -1, -1, dtype=np.uint8).reshape(256, 1), colormap)


def colorbar_ticks() -> list[dict[str, Any]]:
    """Labels for colorbar_png: levels 0, 50, ... 250, placed at their row's centre (% from the top)."""
    return [
        {"level": level, "percent": round((255 - level + 0.5) / 256 * 100, 3)} for level in range(0, 256, 50)
    ]


# Datasets and queries -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoundNames:
    """How messages name the two depth bounds: the query parameters for the API, the labels on a page."""

    low: str = "depth_min"
    high: str = "depth_max"


API_BOUNDS = BoundNames()


def parse_range_query(params: Mapping[str, str], names: BoundNames = API_BOUNDS) -> RangeQuery:
    """depth_min, depth_max and colormap from a query string; errors are FrameError."""
    colormap = (params.get("colormap") or "").strip() or DEFAULT_COLORMAP
    colormap_table(colormap)
    return RangeQuery(
        depth_min=parse_depth(params.get("depth_min"), names.low),
        depth_max=parse_depth(params.get("depth_max"), names.high),
        colormap=colormap,
    )


def load_frames(
    dataset: DepthDataset,
    depth_min: float | None = None,
    depth_max: float | None = None,
    *,
    max_rows: int | None = None,
    names: BoundNames = API_BOUNDS,
) -> Frames:
    """The frames with depth_min <= depth <= depth_max (bounds inclusive, None = the dataset's end)."""
    low = dataset.depth_min if depth_min is None else depth_min
    high = dataset.depth_max if depth_max is None else depth_max
    if low > high:
        raise FrameRangeError(
            f"{names.low} ({format_depth(low)}) must not be greater than {names.high} ({format_depth(high)})."
        )
    limit = max_range_rows_setting() if max_rows is None else max_rows
    overlapping = dataset.chunks.filter(depth_max__gte=low, depth_min__lte=high)
    count = _count_frames(overlapping, low, high)
    if count > limit:
        raise FrameRangeError(
            f"Depths {format_depth(low)} to {format_depth(high)} hold {count} frames; at most "
            f"{limit} can be requested at once. Narrow {names.low} and {names.high}."
        )
    chunks = list(overlapping.order_by("index").values_list("depths", "pixels"))
    if not chunks:
        return Frames(np.empty(0), np.empty((0, dataset.width), dtype=np.uint8))
    depths = np.concatenate([np.frombuffer(chunk_depths, dtype="<f8") for chunk_depths, _ in chunks])
    pixels = np.concatenate([np.frombuffer(chunk_pixels, dtype=np.uint8) for _, chunk_pixels in chunks])
    first = int(np.searchsorted(depths, low, side="left"))
    last = int(np.searchsorted(depths, high, side="right"))
    return Frames(depths[first:last], pixels.reshape(-1, dataset.width)[first:last])


def _count_frames(overlapping: QuerySet[DepthFrameChunk], low: float, high: float) -> int:
    """Frames in [low, high] from the chunks' summaries, reading the depths of the two edge chunks only."""
    inside = overlapping.filter(depth_min__gte=low, depth_max__lte=high)
    count = inside.aggregate(rows=Sum("row_count"))["rows"] or 0
    for chunk_depths in overlapping.exclude(pk__in=inside.values("pk")).values_list("depths", flat=True):
        depths = np.frombuffer(chunk_depths, dtype="<f8")
        count += int(np.count_nonzero((depths >= low) & (depths <= high)))
    return count


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
    return _indexed_png(scanlines, colormap)


PLOT_HEIGHT = 600  # the viewer's plot, in CSS pixels (the page sets frames.css's --plot-height from it)


def plot_scale(rows: int, width: int, height: int = PLOT_HEIGHT, max_pixels: int | None = None) -> int:
    """Image pixels per CSS pixel, each way, of the viewer's plot of `rows` frames `width` levels wide.

    The plot shows the frames `width` CSS pixels wide and `height` high, so an image of (width, height)
    times the scale has the displayed aspect. The scale is the smallest that gives every frame a line of
    its own (ceil(rows / height)), lowered while the image would hold more than `max_pixels` (by default
    the largest image the API draws: FRAMES_MAX_WIDTH x FRAMES_MAX_RANGE_ROWS); a lower scale samples the
    frames, as a screen that shows them in fewer device pixels does.
    """
    if max_pixels is None:
        max_pixels = max_width_setting() * max_range_rows_setting()
    scale = max(1, math.ceil(rows / height))
    while scale > 1 and width * height * scale * scale > max_pixels:
        scale -= 1
    return scale


def render_plot_png(
    pixels: np.ndarray, colormap: str, height: int = PLOT_HEIGHT, max_pixels: int | None = None
) -> bytes:
    """The (rows, width) levels as the viewer shows them: stretched (or squeezed) to `height` lines.

    The image is (width, height) x plot_scale(): its aspect is the plot's, so the browser scales it evenly
    instead of distorting it. Line y shows frame y * rows // image height (nearest neighbour, as the page's
    `image-rendering: pixelated` would), each level repeated `scale` times across. A line that repeats the one
    above it is stored with PNG's Up filter as zeros, so the repetition costs next to nothing compressed.
    """
    rows, width = pixels.shape
    scale = plot_scale(rows, width, height, max_pixels)
    out_width, out_height = width * scale, height * scale
    source = np.arange(out_height, dtype=np.int64) * rows // out_height
    first = np.ones(out_height, dtype=bool)
    first[1:] = source[1:] != source[:-1]
    scanlines = np.zeros((out_height, 1 + out_width), dtype=np.uint8)
    scanlines[~first, 0] = 2  # filter Up with zero differences: the line above, again
    scanlines[first, 1:] = np.repeat(pixels[source[first]], scale, axis=1)
    return _indexed_png(scanlines, colormap)


def _indexed_png(scanlines: np.ndarray, colormap: str) -> bytes:
    """An 8-bit indexed-colour PNG, the colormap as its palette, from filtered (rows, 1 + width) scanlines."""
    rows, line = scanlines.shape
    header = struct.pack(">IIBBBBB", line - 1, rows, 8, 3, 0, 0, 0)  # 8-bit indexed colour, no interlace
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


_NICE_FACTORS = (1.0, 2.0, 2.5, 5.0, 10.0)


def nice_step(span: float, count: int) -> tuple[float, int]:
    """The 1, 2, 2.5 or 5 x 10^n step nearest (on a log scale) to splitting `span` into `count` - 1
    intervals, and how many decimals its multiples need."""
    raw = span / max(count - 1, 1)
    exponent = math.floor(math.log10(raw))
    factor = min(_NICE_FACTORS, key=lambda factor: abs(math.log(factor * 10.0**exponent / raw)))
    if factor == 10.0:
        factor, exponent = 1.0, exponent + 1
    decimals = max(0, -exponent + (1 if factor == 2.5 else 0))
    return factor * 10.0**exponent, decimals


def depth_ticks(depths: np.ndarray, count: int = 6) -> list[dict[str, Any]]:
    """Round-valued labels for a depth axis (steps of 1, 2, 2.5 or 5 x 10^n, as Matplotlib picks them).

    Each tick is {"depth": label, "percent": where it sits as a % of the image height}. Rows are drawn one
    above the other at equal heights, so a depth between two rows sits between their centres.
    """
    rows = len(depths)
    if rows == 0:
        return []
    low, high = float(depths[0]), float(depths[-1])
    if rows == 1 or high <= low:
        return [{"depth": format_depth(low), "percent": 50.0}]
    step, decimals = nice_step(high - low, count)
    first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
    values = [round(multiple * step, decimals) for multiple in range(first, last + 1)]
    positions = np.interp(values, depths, np.arange(rows, dtype=float))
    return [
        {"depth": _format_tick(value, decimals), "percent": round((position + 0.5) / rows * 100, 3)}
        for value, position in zip(values, positions.tolist(), strict=True)
    ]


def _format_tick(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return text.removeprefix("-") if float(text) == 0 else text  # no "-0"


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
