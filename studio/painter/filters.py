"""Post-filters for full renders: lighting, art styles and surface texture."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageChops, ImageEnhance, ImageFilter, ImageOps

from .canvas import RGB
from .look import _Look

# --- post-filters (full renders only) --------------------------------------------------------------


def _overlay(image: Image.Image, colour: RGB, mask: Image.Image) -> Image.Image:
    return Image.composite(Image.new("RGB", image.size, colour), image, mask)


def _radial(size: int, strength: int, inverse: bool = False) -> Image.Image:
    mask = Image.radial_gradient("L").resize((size, size), Image.Resampling.BILINEAR)
    if inverse:
        mask = ImageOps.invert(mask)
    return mask.point(lambda p: p * strength // 255)


def _side(size: int, strength: int, from_right: bool = False) -> Image.Image:
    mask = (
        Image.linear_gradient("L")
        .rotate(90 if from_right else -90)
        .resize((size, size), Image.Resampling.BILINEAR)
    )
    return mask.point(lambda p: p * strength // 255)


def _light(image: Image.Image, look: _Look) -> Image.Image:
    size = image.width
    lighting = look.lighting
    if lighting == "soft":
        image = ImageEnhance.Brightness(image).enhance(1.05)
    elif lighting == "studio":
        image = _overlay(image, (20, 20, 24), _radial(size, 90))
    elif lighting == "golden_hour":
        image = _overlay(image, (255, 170, 70), _side(size, 80))
    elif lighting == "rim":
        image = _overlay(image, (255, 255, 240), _side(size, 70, from_right=True))
    elif lighting == "neon":
        image = _overlay(image, (255, 40, 200), _side(size, 70))
        image = _overlay(image, (40, 230, 255), _side(size, 70, from_right=True))
    elif lighting == "candlelight":
        image = _overlay(
            _overlay(image, (255, 150, 60), Image.new("L", image.size, 45)), (10, 6, 4), _radial(size, 140)
        )
    elif lighting == "moonlight":
        image = _overlay(
            ImageEnhance.Brightness(image).enhance(0.8), (70, 100, 180), Image.new("L", image.size, 60)
        )
    elif lighting == "overcast":
        image = ImageEnhance.Color(image).enhance(0.7)
    elif lighting == "backlit":
        image = _overlay(ImageEnhance.Brightness(image).enhance(0.7), (255, 245, 220), _radial(size, 110))
    if look.contrast:
        image = ImageEnhance.Contrast(image).enhance(
            {"low": 0.75, "moderate": 1.0, "high": 1.35}[look.contrast]
        )
    if look.shading == "flat":
        image = ImageEnhance.Contrast(image).enhance(0.92)
    if "monochrome" in look.palette_keys:
        image = ImageOps.grayscale(image).convert("RGB")
    elif "sepia" in look.palette_keys:
        image = ImageOps.colorize(ImageOps.grayscale(image), (40, 26, 14), (250, 236, 210))
    elif "neon" in look.palette_keys or "jewel" in look.palette_keys:
        image = ImageEnhance.Color(image).enhance(1.3)
    elif "pastel" in look.palette_keys:
        image = Image.blend(image, Image.new("RGB", image.size, (250, 246, 250)), 0.2)
    return image


def _edges(image: Image.Image) -> Image.Image:
    return ImageOps.grayscale(image).filter(ImageFilter.FIND_EDGES).point(lambda p: 255 if p > 40 else 0)


def _outlined(image: Image.Image, colour: RGB) -> Image.Image:
    return Image.composite(
        Image.new("RGB", image.size, colour), image, _edges(image).filter(ImageFilter.MaxFilter(3))
    )


def _pixel_art(image: Image.Image) -> Image.Image:
    cells = max(24, min(64, image.width // 8))
    small = image.resize((cells, cells), Image.Resampling.BILINEAR).quantize(32).convert("RGB")
    return small.resize(image.size, Image.Resampling.NEAREST)


def _pencil(image: Image.Image) -> Image.Image:
    grey = ImageOps.grayscale(image).point(lambda p: 150 + p * 100 // 255)
    strokes = ImageOps.grayscale(image).filter(ImageFilter.FIND_EDGES).point(lambda p: min(255, p * 3))
    return ImageChops.subtract(grey, strokes).convert("RGB")


def _ink(image: Image.Image) -> Image.Image:
    grey = ImageOps.grayscale(image).point(lambda p: 255 if p > 110 else (170 if p > 60 else 40))
    return _outlined(ImageOps.colorize(grey, (20, 20, 30), (250, 248, 240)), (16, 16, 24))


def _watercolor(image: Image.Image) -> Image.Image:
    soft = image.filter(ImageFilter.GaussianBlur(max(1, image.width / 300)))
    return Image.blend(
        ImageEnhance.Color(soft).enhance(1.15), Image.new("RGB", image.size, (252, 250, 244)), 0.12
    )


def _impressionist(image: Image.Image, seed: int) -> Image.Image:
    pixels = np.asarray(image)
    rng = np.random.default_rng(seed % 2**63)
    size = image.width
    reach = max(1, size // 160)
    ys = np.clip(np.arange(size)[:, None] + rng.integers(-reach, reach + 1, (size, size)), 0, size - 1)
    xs = np.clip(np.arange(size)[None, :] + rng.integers(-reach, reach + 1, (size, size)), 0, size - 1)
    return Image.fromarray(pixels[ys, xs]).filter(ImageFilter.SMOOTH)


_ART_FILTERS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "pixel_art": _pixel_art,
    "pencil_sketch": _pencil,
    "ink": _ink,
    "watercolor": _watercolor,
    "oil_painting": lambda im: (
        ImageEnhance.Color(im.filter(ImageFilter.SMOOTH_MORE)).enhance(1.2).filter(ImageFilter.EDGE_ENHANCE)
    ),
    "anime": lambda im: ImageEnhance.Color(ImageOps.posterize(im, 5)).enhance(1.25),
    "comic": lambda im: _outlined(ImageOps.posterize(ImageEnhance.Color(im).enhance(1.3), 3), (14, 14, 18)),
    "low_poly": lambda im: im.quantize(20).convert("RGB"),
    "3d_render": lambda im: im.filter(ImageFilter.SMOOTH_MORE).filter(ImageFilter.DETAIL),
    "concept_art": lambda im: ImageEnhance.Contrast(ImageEnhance.Color(im).enhance(0.85)).enhance(1.1),
    "art_nouveau": lambda im: _outlined(
        Image.blend(im, ImageOps.colorize(ImageOps.grayscale(im), (60, 40, 20), (250, 230, 190)), 0.4),
        (70, 44, 24),
    ),
    "digital_painting": lambda im: im.filter(ImageFilter.SMOOTH),
    "photorealistic": lambda im: im.filter(ImageFilter.GaussianBlur(max(0.5, im.width / 700))),
}


def _texture(image: Image.Image, look: _Look, seed: int) -> Image.Image:
    if look.texture not in ("grainy", "canvas", "paper", "painterly"):
        if look.texture == "glossy":
            return ImageEnhance.Contrast(image).enhance(1.08)
        if look.texture == "matte":
            return ImageEnhance.Contrast(image).enhance(0.9)
        if look.texture == "smooth":
            return image.filter(ImageFilter.SMOOTH)
        return image
    # Coarse grain in a few levels: it reads as texture yet keeps the PNG small and quick to encode.
    rng = np.random.default_rng(seed % 2**63)
    size, grain = image.width, max(1, image.width // 256)
    step = {"grainy": 7, "canvas": 4, "paper": 4, "painterly": 5}[look.texture]
    cells = -(-size // grain)
    noise = np.clip(np.rint(rng.normal(0, 1, (cells, cells))), -2, 2).astype(np.int16) * step
    if look.texture == "canvas":
        weave = (np.arange(cells) % 2).astype(np.int16) * 6 - 3
        noise += weave[:, None] + weave[None, :]
    elif look.texture == "painterly":
        noise = np.repeat(noise[::4], 4, axis=0)[:cells]  # horizontal dabs
    noise = np.repeat(np.repeat(noise, grain, axis=0), grain, axis=1)[:size, :size]
    pixels = np.asarray(image).astype(np.int16) + noise[:, :, None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
