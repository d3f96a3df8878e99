"""Helpers every provider module shares: settings with defaults, and image sizes."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from django.conf import settings


def setting(name: str, default: Any) -> Any:
    """A provider setting, with a default that works before the integrator adds it to settings.py."""
    return getattr(settings, name, default)


# Sizes.

_SIZE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")
_ASPECT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$")


def parse_size(size: str) -> tuple[int, int] | None:
    match = _SIZE.match(size or "")
    return (int(match[1]), int(match[2])) if match else None


def aspect_of(size: str) -> float | None:
    """Width / height of a "WxH" size or a "W:H" aspect ratio."""
    if dimensions := parse_size(size):
        width, height = dimensions
    elif match := _ASPECT.match(size or ""):
        width, height = float(match[1]), float(match[2])
    else:
        return None
    return width / height if width and height else None


def nearest_by_aspect(size: str, options: Sequence[str], default: str) -> str:
    """The option whose aspect ratio is closest to the requested size or ratio (default when unreadable)."""
    if size in options:
        return size
    wanted = aspect_of(size)
    if wanted is None:
        return default
    return min(
        (option for option in options if aspect_of(option)),
        key=lambda option: abs(math.log(aspect_of(option) / wanted)),  # type: ignore[operator]
        default=default,
    )
