"""Reference images made ready to send: PNG, at most 1024 px on the long side and MAX_REFERENCE_BYTES, no
metadata, hashed.

The worker calls `prepare_references` once per job with the bytes of the character's reference images (its
own portraits or uploads, already validated) and passes the result as GenerationRequest.references.

- A PNG that is already small enough (the painter's portraits) is not decoded: its metadata chunks (the
  studio's prompt and lineage text, an upload's EXIF) are dropped and the image data is copied as it is.
- Anything else (a larger image, JPEG, WebP, a photographic PNG over the byte cap) is decoded under the
  decompression-bomb guard, downscaled to 1024 px and, while still over MAX_REFERENCE_BYTES, further (a
  photographic 1024 px PNG is ~1.8 MB, so four would be 7 MB to upload and bill), then encoded as PNG.
- The result is remembered per process by the source's hash (a bounded LRU): a character's references are
  the same from job to job, so a worker decodes each once and later jobs only hash the bytes.

bench/references.py measures the three cases and the per-job cost.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
import threading
import warnings
import zlib
from collections import OrderedDict
from collections.abc import Sequence

from PIL import Image

from studio.portraits.providers.base import ReferenceInput

MAX_SIDE = 1024
# Refused before decoding: a reference is a portrait, not a poster (and never a decompression bomb).
MAX_PIXELS = 40_000_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The chunks that make the picture; every other one (tEXt, iTXt, zTXt, eXIf, tIME, ...) is dropped.
PNG_PICTURE_CHUNKS = {
    b"IHDR",
    b"PLTE",
    b"IDAT",
    b"IEND",
    b"tRNS",
    b"gAMA",
    b"cHRM",
    b"sRGB",
    b"iCCP",
    b"sBIT",
}
# zlib level 1: a photograph encodes three times faster than at Pillow's default 6 for ~12 % more bytes
# (which the byte cap turns into ~6 % fewer pixels a side); the painter's flat art stays far under the cap.
PNG_COMPRESS_LEVEL = 1
# Four references (a job's usual most) stay under 1.5 MB (bench/references.py's budget).
MAX_REFERENCE_BYTES = 360_000
MIN_SIDE = 256
PROBE_FACTOR = 4
# Prepared references kept per process: 32 x at most MAX_REFERENCE_BYTES is under 12 MB.
CACHE_ENTRIES = 32
_prepared: OrderedDict[bytes, tuple[bytes, str]] = OrderedDict()
_prepared_lock = threading.Lock()


class ReferenceImageError(ValueError):
    """A reference image that cannot be prepared; the message names it and is ready for the user."""


def prepare_references(
    images: list[bytes],
    *,
    roles: Sequence[str] = (),
    names: Sequence[str] = (),
    painter_seeds: Sequence[int | None] = (),
) -> tuple[ReferenceInput, ...]:
    """One ReferenceInput per image, in order. Roles default to "face", names to "reference N"."""
    prepared = []
    for index, data in enumerate(images):
        name = names[index] if index < len(names) else f"reference {index + 1}"
        prepared.append(
            prepare_reference(
                data,
                role=roles[index] if index < len(roles) else "face",
                name=name,
                painter_seed=painter_seeds[index] if index < len(painter_seeds) else None,
            )
        )
    return tuple(prepared)


def prepare_reference(
    data: bytes, *, role: str = "face", name: str = "reference", painter_seed: int | None = None
) -> ReferenceInput:
    key = hashlib.sha256(data).digest()
    with _prepared_lock:
        cached = _prepared.get(key)
        if cached is not None:
            _prepared.move_to_end(key)
    if cached is None:
        png = small_png_without_metadata(data)
        if png is None or len(png) > MAX_REFERENCE_BYTES:
            png = _reencoded(data, name)
        cached = (png, hashlib.sha256(png).hexdigest())
        with _prepared_lock:
            _prepared[key] = cached
            while len(_prepared) > CACHE_ENTRIES:
                _prepared.popitem(last=False)
    png, digest = cached
    return ReferenceInput(data=png, role=role, name=name, sha256=digest, painter_seed=painter_seed)


def forget_prepared() -> None:
    """Empty the per-process cache (tests and benchmarks measure a cold start with it)."""
    with _prepared_lock:
        _prepared.clear()


def small_png_without_metadata(data: bytes) -> bytes | None:
    """The PNG's picture chunks alone when it is a well-formed PNG of at most MAX_SIDE px a side; None when
    it has to be decoded (not a PNG, too large, or damaged)."""
    if not data.startswith(PNG_SIGNATURE):
        return None
    kept = [PNG_SIGNATURE]
    offset = len(PNG_SIGNATURE)
    while offset + 12 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        end = offset + 12 + length
        if end > len(data):
            return None
        if kind == b"IHDR":
            width, height = struct.unpack(">II", data[offset + 8 : offset + 16])
            if max(width, height) > MAX_SIDE or not width or not height:
                return None
        body = data[offset + 4 : end - 4]
        if zlib.crc32(body) != struct.unpack(">I", data[end - 4 : end])[0]:
            return None
        if kind in PNG_PICTURE_CHUNKS:
            kept.append(data[offset:end])
        if kind == b"IEND":
            return b"".join(kept)
        offset = end
    return None


def _reencoded(data: bytes, name: str) -> bytes:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise ReferenceImageError(
                        f'The reference image "{name}" is {width}x{height} pixels; the largest a reference '
                        f"may be is {MAX_PIXELS // 1_000_000} megapixels."
                    )
                image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a reduced scale when it can
                picture = image.convert("RGBA" if _has_alpha(image) else "RGB")
    except (OSError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ReferenceImageError(
            f'The reference image "{name}" could not be read as an image; '
            "replace it with a PNG, JPEG or WebP."
        ) from error
    picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    # A PNG's size goes with its pixel count. Encoding a photograph at 1024 px only to find it over the cap
    # costs more than everything else here, so a quarter-scale probe predicts the size first (a small image
    # compresses a little worse per pixel, so the prediction errs towards smaller).
    if min(picture.size) >= 2 * MIN_SIDE:
        probe = picture.reduce(PROBE_FACTOR)
        predicted = len(_png(probe)) * (picture.width * picture.height) / (probe.width * probe.height)
        if predicted > MAX_REFERENCE_BYTES:
            picture = _scaled(picture, math.sqrt(MAX_REFERENCE_BYTES / predicted))
    png = _png(picture)
    while len(png) > MAX_REFERENCE_BYTES and min(picture.size) > MIN_SIDE:
        picture = _scaled(picture, math.sqrt(MAX_REFERENCE_BYTES / len(png)))
        png = _png(picture)
    return png


def _scaled(picture: Image.Image, scale: float) -> Image.Image:
    """`picture` scaled by `scale` less a margin (so one step is usually enough), its short side kept at
    MIN_SIDE or more."""
    scale = max(scale * 0.95, MIN_SIDE / min(picture.size))
    size = (max(round(picture.width * scale), 1), max(round(picture.height * scale), 1))
    return picture.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _png(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
