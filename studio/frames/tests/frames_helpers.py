"""Pixel-CSV builders shared by the depth-frame tests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.core.files.uploadedfile import SimpleUploadedFile


def header(width: int) -> str:
    return "depth," + ",".join(f"col{i}" for i in range(1, width + 1))


def pixel_csv(rows: Iterable[tuple[object, Sequence[object]]], width: int | None = None) -> bytes:
    """A pixel CSV from (depth, pixels) pairs; the width defaults to the first row's."""
    rows = list(rows)
    width = width if width is not None else len(rows[0][1])
    lines = [header(width)] + [",".join(str(value) for value in (depth, *pixels)) for depth, pixels in rows]
    return ("\n".join(lines) + "\n").encode()


def ramp_csv(rows: int = 10, width: int = 4, start: float = 1.0, step: float = 1.0) -> bytes:
    """Row i at depth start + i*step, pixels (i * 10 + column) % 256."""
    return pixel_csv(
        (start + index * step, [(index * 10 + column) % 256 for column in range(width)])
        for index in range(rows)
    )


def upload(data: bytes, name: str = "frames.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")
