"""Procedural pattern art: mandala, geometric shapes, gradient, noise clusters and spirals (Pillow/NumPy).

Every pattern is a pure function of its options: the same options give the same pixels. Coordinates are
normalised to the image, so a small preview looks like the full-size image it stands for.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image, ImageDraw

KINDS: tuple[tuple[str, str], ...] = (
    ("mandala", "Mandala"),
    ("geometric", "Geometric shapes"),
    ("gradient", "Colour gradient"),
    ("noise", "Noise clusters"),
    ("spiral", "Spiral"),
)
KIND_LABELS = dict(KINDS)
MIN_SIDE, MAX_SIDE = 100, 2048
DEFAULT_PRIMARY, DEFAULT_SECONDARY = "#3b2a80", "#f4b942"
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


class PatternError(ValueError):
    pass


@dataclass(frozen=True)
class PatternOptions:
    kind: str = "mandala"
    width: int = 1024
    height: int = 1024
    primary: str = DEFAULT_PRIMARY
    secondary: str = DEFAULT_SECONDARY
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KIND_LABELS:
            raise PatternError(f'There is no pattern called "{self.kind}".')
        for side in (self.width, self.height):
            if not MIN_SIDE <= side <= MAX_SIDE:
                raise PatternError(f"Width and height must be between {MIN_SIDE} and {MAX_SIDE} pixels.")
        for colour in (self.primary, self.secondary):
            if not _HEX.match(colour):
                raise PatternError(f'"{colour}" is not a colour like #3b2a80.')

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def scaled(self, max_side: int) -> PatternOptions:
        """The same pattern at most max_side pixels on its longer side (for previews)."""
        scale = min(1.0, max_side / max(self.width, self.height))
        return PatternOptions(
            self.kind,
            max(MIN_SIDE, round(self.width * scale)),
            max(MIN_SIDE, round(self.height * scale)),
            self.primary,
            self.secondary,
            self.seed,
        )


def hex_to_rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.float32)


def _grid(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates in [-1, 1] on the shorter side, centred (aspect-correct)."""
    scale = 2.0 / min(width, height)
    x = (np.arange(width, dtype=np.float32) - (width - 1) / 2) * scale
    y = (np.arange(height, dtype=np.float32) - (height - 1) / 2) * scale
    return x[None, :], y[:, None]


def _blend(t: np.ndarray, options: PatternOptions) -> Image.Image:
    """Mix the two colours by t in [0, 1] (H x W) into an RGB image."""
    a, b = hex_to_rgb(options.primary), hex_to_rgb(options.secondary)
    t = np.clip(t, 0.0, 1.0).astype(np.float32)[..., None]
    pixels = a + (b - a) * t
    return Image.fromarray(pixels.astype(np.uint8), "RGB")


def _gradient(options: PatternOptions, rng: np.random.Generator) -> Image.Image:
    angle = rng.uniform(0, 2 * np.pi)
    x, y = _grid(options.width, options.height)
    t = x * np.cos(angle) + y * np.sin(angle)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    return _blend(t, options)


def _smooth_noise(width: int, height: int, cells: int, rng: np.random.Generator) -> np.ndarray:
    """Value noise: a coarse random grid upsampled bicubically by Pillow (fast, resolution-independent)."""
    aspect = width / height
    grid_w, grid_h = (
        (max(2, round(cells * aspect)), cells) if aspect >= 1 else (cells, max(2, round(cells / aspect)))
    )
    coarse = rng.random((grid_h, grid_w), dtype=np.float32)
    return np.asarray(Image.fromarray(coarse, "F").resize((width, height), Image.Resampling.BICUBIC))


def _noise(options: PatternOptions, rng: np.random.Generator) -> Image.Image:
    w, h = options.width, options.height
    field = (
        0.55 * _smooth_noise(w, h, 4, rng)
        + 0.3 * _smooth_noise(w, h, 9, rng)
        + 0.15 * _smooth_noise(w, h, 23, rng)
    )
    # Steepen around the median so the noise separates into clusters of the two colours.
    t = 1 / (1 + np.exp(-(field - np.median(field)) * 18))
    return _blend(t, options)


def _mandala(options: PatternOptions, rng: np.random.Generator) -> Image.Image:
    x, y = _grid(options.width, options.height)
    r = np.sqrt(x * x + y * y)
    theta = np.arctan2(y, x)
    folds = int(rng.integers(6, 17))
    rings = rng.uniform(6, 14)
    petals = np.cos(folds * theta) * np.cos(rings * r * np.pi)
    detail = np.cos(2 * folds * theta + rng.uniform(0, np.pi)) * np.sin(rings * 2.3 * r)
    t = 0.5 + 0.35 * petals + 0.15 * detail
    t = np.where(r > 1.0, 0.5 + 0.5 * (t - 0.5) * np.exp(-(r - 1.0) * 4), t)
    return _blend(t, options)


def _spiral(options: PatternOptions, rng: np.random.Generator) -> Image.Image:
    x, y = _grid(options.width, options.height)
    r = np.sqrt(x * x + y * y)
    theta = np.arctan2(y, x)
    arms = int(rng.integers(2, 7))
    tightness = rng.uniform(8, 20)
    t = 0.5 + 0.5 * np.sin(arms * theta + tightness * np.log1p(4 * r) * 2)
    return _blend(t, options)


def _geometric(options: PatternOptions, rng: np.random.Generator) -> Image.Image:
    w, h = options.width, options.height
    image = _blend(np.full((h, w), 0.08, dtype=np.float32), options)
    overlay = Image.new("RGBA", (w, h))
    draw = ImageDraw.Draw(overlay)
    a, b = hex_to_rgb(options.primary), hex_to_rgb(options.secondary)
    side = min(w, h)
    for _ in range(int(rng.integers(18, 36))):
        mix = rng.random()
        colour = (*(int(v) for v in a + (b - a) * mix), int(rng.integers(110, 220)))
        cx, cy = rng.random() * w, rng.random() * h
        size = side * rng.uniform(0.05, 0.3)
        shape = rng.integers(0, 3)
        if shape == 0:
            draw.ellipse((cx - size, cy - size, cx + size, cy + size), fill=colour)
        elif shape == 1:
            draw.rectangle((cx - size, cy - size * 0.7, cx + size, cy + size * 0.7), fill=colour)
        else:
            angle = rng.uniform(0, 2 * np.pi)
            points = [
                (cx + size * np.cos(angle + k * 2 * np.pi / 3), cy + size * np.sin(angle + k * 2 * np.pi / 3))
                for k in range(3)
            ]
            draw.polygon(points, fill=colour)
    image.paste(overlay, (0, 0), overlay)
    return image


_PAINTERS: dict[str, Callable[[PatternOptions, np.random.Generator], Image.Image]] = {
    "mandala": _mandala,
    "geometric": _geometric,
    "gradient": _gradient,
    "noise": _noise,
    "spiral": _spiral,
}


def render(options: PatternOptions) -> Image.Image:
    rng = np.random.default_rng([options.seed & 0xFFFFFFFF, list(KIND_LABELS).index(options.kind)])
    return _PAINTERS[options.kind](options, rng)


def render_png(options: PatternOptions) -> bytes:
    buffer = io.BytesIO()
    render(options).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def save_pattern(owner: object, options: PatternOptions) -> object:
    """Render the pattern through the patterns provider and keep it as a portrait (no character)."""
    from decimal import Decimal

    from django.utils import timezone

    from studio.portraits.generation import check_quota, daily_images
    from studio.portraits.jobs import png_metadata
    from studio.portraits.models import Portrait
    from studio.portraits.providers import GenerationRequest, get_provider

    check_quota(owner, 1, Decimal("0"))  # refuse before rendering; checked again under the lock below
    provider = get_provider("patterns")
    result = provider.generate(
        GenerationRequest(
            prompt=f"{KIND_LABELS[options.kind]} pattern",
            size=f"{options.width}x{options.height}",
            seed=options.seed,
            model=options.kind,
            options={"primary": options.primary, "secondary": options.secondary},
        )
    )
    with daily_images(owner, 1):
        portrait = Portrait.objects.create(
            owner=owner,
            prompt=f"{KIND_LABELS[options.kind]} pattern",
            provider=provider.name,
            model=options.kind,
            parameters={**result.parameters, "pattern": options.as_dict()},
            seed=options.seed,
            status=Portrait.Status.RUNNING,
            attempts=1,
            started_at=timezone.now(),
        )
    portrait.store_image(result.images[0].data, metadata=png_metadata(portrait))
    return portrait
