from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from PIL import Image, UnidentifiedImageError
from PIL.PngImagePlugin import PngInfo

# What Pillow raises for image bytes it cannot read: a truncated or corrupt image behind a valid signature
# (OSError, SyntaxError from the PNG chunk reader, ...), or a decompression bomb.
IMAGE_DECODE_ERRORS = (
    OSError,
    UnidentifiedImageError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    Image.DecompressionBombError,
)


class UnreadableImageError(ValueError):
    """Image bytes that do not decode; the message is the decoder's, for logs."""


@dataclass(frozen=True)
class PortraitFiles:
    png: bytes
    webp: bytes
    width: int
    height: int


def encode_portrait_files(image_bytes: bytes, metadata: dict[str, Any] | None = None) -> PortraitFiles:
    """A portrait's stored files: the PNG (parameters in dali:* iTXt chunks) and its WebP thumbnail.

    A "size" metadata item is written as the decoded image's pixel size (WxH): what was made, whatever size
    or aspect ratio was asked for. Raises one of IMAGE_DECODE_ERRORS for bytes that do not decode."""
    with Image.open(io.BytesIO(image_bytes)) as image:
        image.load()  # decodes every pixel: a corrupt image fails here, before anything is stored
        if metadata and "size" in metadata:
            metadata = {**metadata, "size": f"{image.width}x{image.height}"}
        if image.format == "PNG":
            # Splice the text chunks in: re-encoding a 1024 px PNG costs ~100 ms of worker time per job.
            png = with_text_chunks(image_bytes, metadata or {})
        else:
            png_info = PngInfo()
            for key, value in (metadata or {}).items():
                png_info.add_itxt(f"dali:{key}", str(value))
            buffer = io.BytesIO()
            image.save(buffer, "PNG", pnginfo=png_info, compress_level=6)
            png = buffer.getvalue()
        thumb = image.convert("RGB")
        thumb.thumbnail(
            (settings.THUMBNAIL_SIZE, settings.THUMBNAIL_SIZE), Image.Resampling.LANCZOS, reducing_gap=2.0
        )
        webp = io.BytesIO()
        thumb.save(webp, "WEBP", quality=80, method=4)
        return PortraitFiles(png, webp.getvalue(), *image.size)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def with_text_chunks(png: bytes, metadata: dict[str, Any]) -> bytes:
    """The same PNG with a dali:KEY iTXt chunk (uncompressed UTF-8) per metadata item, right after IHDR."""
    ihdr_end = 8 + 8 + struct.unpack(">I", png[8:12])[0] + 4  # signature, IHDR length+type, data, CRC
    chunks = b"".join(
        # iTXt: keyword NUL, compression flag 0, method 0, empty language NUL, empty translation NUL, text.
        _png_chunk(b"iTXt", f"dali:{key}".encode("latin-1") + b"\0\0\0\0\0" + str(value).encode())
        for key, value in metadata.items()
    )
    return png[:ihdr_end] + chunks + png[ihdr_end:]


def read_png_metadata(data: bytes) -> dict[str, str]:
    """The generation parameters a portrait PNG carries (see Portrait.store_image)."""
    with Image.open(io.BytesIO(data)) as image:
        text = getattr(image, "text", {}) or {}
    return {key.removeprefix("dali:"): value for key, value in text.items() if key.startswith("dali:")}
