"""Estimated cost per generated image, in US dollars.

These are estimates for showing a user what a batch will cost, not invoices: providers bill by tokens,
credits or compute time and change prices. `settings.IMAGE_PRICES` overrides or extends the table with
the same key shapes. Figures as published in 2026; check them when a provider announces changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from studio.portraits.providers.common import parse_size, setting

# Keys: (provider, model, quality) or (provider, model, quality, size) where size changes the price.
# Quality "" matches any quality; model "*" is the provider's fallback for models not listed.
PriceKey = tuple[str, ...]

DEFAULT_IMAGE_PRICES: dict[PriceKey, Decimal] = {
    ("local", "*", ""): Decimal("0"),
    # OpenAI GPT Image: per-image estimates of the token bill for a 1024x1024 image; larger sizes cost ~1.5x.
    ("openai", "gpt-image-2", "low"): Decimal("0.006"),
    ("openai", "gpt-image-2", "medium"): Decimal("0.053"),
    ("openai", "gpt-image-2", "high"): Decimal("0.211"),
    ("openai", "gpt-image-2", "auto"): Decimal("0.211"),
    ("openai", "gpt-image-1.5", "low"): Decimal("0.009"),
    ("openai", "gpt-image-1.5", "medium"): Decimal("0.034"),
    ("openai", "gpt-image-1.5", "high"): Decimal("0.133"),
    ("openai", "gpt-image-1.5", "auto"): Decimal("0.133"),
    ("openai", "gpt-image-1-mini", "low"): Decimal("0.005"),
    ("openai", "gpt-image-1-mini", "medium"): Decimal("0.011"),
    ("openai", "gpt-image-1-mini", "high"): Decimal("0.036"),
    ("openai", "gpt-image-1-mini", "auto"): Decimal("0.036"),
    ("openai", "gpt-image-1", "low"): Decimal("0.011"),
    ("openai", "gpt-image-1", "medium"): Decimal("0.042"),
    ("openai", "gpt-image-1", "high"): Decimal("0.167"),
    ("openai", "gpt-image-1", "auto"): Decimal("0.167"),
    # DALL·E: flat per image (retired May 2026; kept for OpenAI-compatible servers that still serve them).
    ("openai", "dall-e-3", "standard"): Decimal("0.040"),
    ("openai", "dall-e-3", "hd"): Decimal("0.080"),
    ("openai", "dall-e-3", "standard", "1792x1024"): Decimal("0.080"),
    ("openai", "dall-e-3", "standard", "1024x1792"): Decimal("0.080"),
    ("openai", "dall-e-3", "hd", "1792x1024"): Decimal("0.120"),
    ("openai", "dall-e-3", "hd", "1024x1792"): Decimal("0.120"),
    ("openai", "dall-e-2", "", "1024x1024"): Decimal("0.020"),
    ("openai", "dall-e-2", "", "512x512"): Decimal("0.018"),
    ("openai", "dall-e-2", "", "256x256"): Decimal("0.016"),
    ("openai", "*", ""): Decimal("0.211"),
    # Stability: credits at $0.01 each.
    ("stability", "core", ""): Decimal("0.03"),
    ("stability", "ultra", ""): Decimal("0.08"),
    ("stability", "sd3.5-large", ""): Decimal("0.065"),
    ("stability", "sd3.5-large-turbo", ""): Decimal("0.04"),
    ("stability", "sd3.5-medium", ""): Decimal("0.035"),
    ("stability", "sd3.5-flash", ""): Decimal("0.025"),
    ("stability", "*", ""): Decimal("0.08"),
    # Hugging Face bills inference by compute time; a few seconds of GPU for a FLUX.1-schnell image.
    ("huggingface", "*", ""): Decimal("0.003"),
}

_LARGE_SIZE_FACTOR = Decimal("1.5")


def image_prices() -> Mapping[PriceKey, Decimal]:
    overrides = setting("IMAGE_PRICES", None) or {}
    return {**DEFAULT_IMAGE_PRICES, **{tuple(key): Decimal(str(value)) for key, value in overrides.items()}}


def unit_price(provider: str, model: str, quality: str = "", size: str = "") -> Decimal:
    prices = image_prices()
    for key in ((provider, model, quality, size), (provider, model, "", size)):
        if key in prices:
            return prices[key]
    for key in ((provider, model, quality), (provider, model, ""), (provider, "*", "")):
        if key in prices:
            return prices[key] * _size_factor(provider, model, size)
    return Decimal("0")


def _size_factor(provider: str, model: str, size: str) -> Decimal:
    """GPT Image bills output tokens, which grow with the pixel count; the table prices 1024x1024."""
    if provider != "openai" or model.startswith("dall-e"):
        return Decimal("1")
    dimensions = parse_size(size)
    if dimensions is None:
        return Decimal("1")
    width, height = dimensions
    return _LARGE_SIZE_FACTOR if width * height > 1024 * 1024 else Decimal("1")


def estimate_cost(provider: str, model: str, quality: str, size: str, count: int) -> Decimal:
    """Estimated US dollars for `count` images; 0 for the local painter and unknown providers."""
    return (unit_price(provider, model, quality, size) * max(count, 0)).quantize(Decimal("0.0001"))
