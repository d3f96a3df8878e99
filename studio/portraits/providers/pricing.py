"""What a generated image costs, in US dollars: the estimate before the call and the actual cost after it.

Estimates (`estimate_cost`) come from one table, PRICE_TABLE, with a row for every (provider, model,
quality, size) the studio offers and the source and date of each figure. They show a user what a batch
will cost and count against the daily spend limit, so they never fall short on purpose:

- a blank or "auto" quality is estimated as the quality the model uses by default; no model's default is
  documented (the SDK says auto "selects the best quality for the given model"), so it is the highest
  quality that model takes (`estimated_quality`);
- a size the table has no row for (a free size, "auto") is priced from the model's token rate and OpenAI's
  output-token formula, and "auto" as the dearest standard size;
- the catch-all rows ("*" models) price only models the studio does not offer (a custom OpenAI-compatible
  server's), never an offered model.

The actual cost (`actual_cost`) comes from what the provider reports: GPT Image's `usage` tokens at the
model's token rates, Stability's credits at their dollar price. `settings.IMAGE_PRICES` overrides or
extends the estimates with the same key shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from studio.portraits.providers import catalog
from studio.portraits.providers.common import parse_size, setting

# Keys: (provider, model, quality) or (provider, model, quality, size) where size changes the price.
# Quality "" matches any quality; model "*" is the provider's fallback for models not listed.
PriceKey = tuple[str, ...]
MILLION = Decimal(1_000_000)
CENT = Decimal("0.0001")


@dataclass(frozen=True)
class Price:
    usd: Decimal
    source: str
    date: str


@dataclass(frozen=True)
class TokenRates:
    """US dollars per million tokens."""

    text_input: Decimal
    image_input: Decimal
    image_output: Decimal
    source: str
    date: str


_GPT_2_RATES = ("5", "8", "30")
_OPENAI_PAGE = "developers.openai.com/api/docs/models/{} (Pricing)"
TOKEN_RATES: dict[str, TokenRates] = {
    "gpt-image-2": TokenRates(*map(Decimal, _GPT_2_RATES), _OPENAI_PAGE.format("gpt-image-2"), "2026-04-21"),
    "gpt-image-1.5": TokenRates(
        Decimal("5"), Decimal("8"), Decimal("32"), "piapi.ai/docs/gpt-image (OpenAI's rates)", "2026"
    ),
    "gpt-image-1-mini": TokenRates(
        Decimal("2"), Decimal("2.5"), Decimal("8"), _OPENAI_PAGE.format("gpt-image-1-mini"), "read 2026-12-07"
    ),
}
for _model in ("gpt-image-2.5-sunburst", "gpt-image-2.5-flare"):
    TOKEN_RATES[_model] = TokenRates(
        *map(Decimal, _GPT_2_RATES),
        "apidog.com/blog/gpt-image-2-5-api (from OpenAI's pricing page)",
        "2026-09-09",
    )
for _model in ("gpt-image-2.6-sunburst", "gpt-image-2.6-flare"):
    TOKEN_RATES[_model] = TokenRates(
        *map(Decimal, _GPT_2_RATES), _OPENAI_PAGE.format("gpt-image-2.6-sunburst"), "2026-11-04"
    )
# Snapshots bill as their model; the "latest" alias is unpriced anywhere: assumed the newest model's rates.
TOKEN_RATES["gpt-image-2-2026-04-21"] = TOKEN_RATES["gpt-image-2"]
TOKEN_RATES["gpt-image-2.5-sunburst-2026-09-08"] = TOKEN_RATES["gpt-image-2.5-sunburst"]
TOKEN_RATES["gpt-image-2.5-flare-2026-09-08"] = TOKEN_RATES["gpt-image-2.5-flare"]
TOKEN_RATES["chatgpt-image-latest"] = TokenRates(
    *map(Decimal, _GPT_2_RATES), "assumed: gpt-image-2.6-sunburst's rates (no published price)", "2026-12-07"
)

# OpenAI's output-token formula for gpt-image-2 (its calculator, as transcribed at community.openai.com,
# 2026-06-05; it reproduces the published per-image prices). The 2.5/2.6 models are assumed to use it too.
_QUALITY_FACTORS = {"low": 16, "medium": 48, "high": 96}
# No token count is published for xhigh and max: assumed 2x and 4x high's, until usage shows otherwise.
_BEYOND_HIGH = {"xhigh": 2, "max": 4}
FORMULA_SOURCE = "OpenAI's gpt-image-2 output-token formula (community.openai.com/t/1382699)"
FORMULA_DATE = "2026-06-05"


def gpt_image_output_tokens(quality: str, width: int, height: int) -> int:
    """Output image tokens of one `quality` image of width x height (gpt-image-2's formula)."""
    if quality in _BEYOND_HIGH:
        return _BEYOND_HIGH[quality] * gpt_image_output_tokens("high", width, height)
    factor = _QUALITY_FACTORS[quality]
    long_edge, short_edge = max(width, height), min(width, height)
    short_axis = (2 * factor * short_edge + long_edge) // (2 * long_edge)
    return (factor * short_axis * (2_000_000 + width * height) + 3_999_999) // 4_000_000


# Reference images sent to an edit are billed as image input tokens, once per request (one usage block per
# call). GPT Image tokenises an input image in 512 px tiles after scaling its shorter side to 512 px: 65 base
# tokens and 129 per tile (OpenAI's vision guide, GPT Image row; an edit of a 1024x1024 image reported
# image_tokens=194 = 65 + 129, community.openai.com/t/1281361). High input fidelity adds a fixed count per
# image; gpt-image-2 and newer take no input_fidelity and are taken to read every image at high fidelity, so
# an estimate never falls short.
INPUT_BASE_TOKENS = 65
INPUT_TILE_TOKENS = 129
INPUT_TILE = 512
# Assumed: the extra tokens OpenAI's image generation guide gave for high input fidelity on gpt-image-1
# (square, other shapes); not re-read.
HIGH_FIDELITY_EXTRA = (4160, 6240)
INPUT_SOURCE = "OpenAI's vision guide tile formula (65 + 129/tile), community.openai.com/t/1281361"
# An estimate does not know each reference's shape: a 2:3 portrait (683x1024) costs more than a square.
ESTIMATED_REFERENCE_SIZE = (683, 1024)
IMAGES_PER_EDIT_CALL = 10


def gpt_image_input_tokens(width: int, height: int, fidelity: str = "high") -> int:
    """Image input tokens of one reference image of width x height sent at `fidelity` ("" = the model takes
    no input_fidelity, read as high)."""
    short_edge, long_edge = min(width, height), max(width, height)
    scaled_long = -(-long_edge * INPUT_TILE // short_edge)  # the shorter side scaled to 512 px
    tiles = -(-scaled_long // INPUT_TILE)
    tokens = INPUT_BASE_TOKENS + INPUT_TILE_TOKENS * tiles
    if fidelity != "low":
        tokens += HIGH_FIDELITY_EXTRA[0] if width == height else HIGH_FIDELITY_EXTRA[1]
    return tokens


def reference_input_cost(model: str, references: int, fidelity: str = "high") -> Decimal:
    """US dollars of `references` reference images in one OpenAI edit request."""
    rates = TOKEN_RATES.get(model)
    if rates is None or references <= 0:
        return Decimal("0")
    tokens = gpt_image_input_tokens(*ESTIMATED_REFERENCE_SIZE, fidelity=fidelity) * references
    return tokens * rates.image_input / MILLION


def openai_input_fidelity(model: str) -> str:
    """The input_fidelity the studio sends with references: the highest the model takes; "" for a model
    that takes none (gpt-image-2 and newer: omit the parameter)."""
    entry = catalog.OPENAI_MODELS.get(model)
    taken = entry.input_fidelity if entry else ()
    return "high" if "high" in taken else (taken[0] if taken else "")


# Per-image prices OpenAI publishes (its image generation guide and model pages), by quality then
# (1024x1024, 1024x1536, 1536x1024).
_PUBLISHED: dict[str, tuple[str, str, dict[str, tuple[str, str, str]]]] = {
    "gpt-image-2": (
        "OpenAI image generation guide cost table, via yingtu.ai/en/blog/gpt-image-2-cost-per-image",
        "2026-05-06",
        {
            "low": ("0.006", "0.005", "0.005"),
            "medium": ("0.053", "0.041", "0.041"),
            "high": ("0.211", "0.165", "0.165"),
        },
    ),
    "gpt-image-1.5": (
        "OpenAI per-image prices, via docs.apiyi.com/en/api-capabilities/gpt-image-2/historical-versions",
        "2026",
        {
            "low": ("0.009", "0.013", "0.013"),
            "medium": ("0.034", "0.050", "0.050"),
            "high": ("0.133", "0.200", "0.200"),
        },
    ),
    "gpt-image-1-mini": (
        _OPENAI_PAGE.format("gpt-image-1-mini"),
        "read 2026-12-07",
        {
            "low": ("0.005", "0.006", "0.006"),
            "medium": ("0.011", "0.015", "0.015"),
            "high": ("0.036", "0.052", "0.052"),
        },
    ),
}
_PUBLISHED["gpt-image-2-2026-04-21"] = _PUBLISHED["gpt-image-2"]


def _formula_price(model: str, quality: str, size: str) -> Decimal | None:
    rates = TOKEN_RATES.get(model)
    dimensions = parse_size(size)
    if rates is None or dimensions is None or quality not in {*_QUALITY_FACTORS, *_BEYOND_HIGH}:
        return None
    tokens = gpt_image_output_tokens(quality, *dimensions)
    return (tokens * rates.image_output / MILLION).quantize(CENT, ROUND_HALF_UP)


def _openai_rows() -> dict[PriceKey, Price]:
    rows: dict[PriceKey, Price] = {}
    for model, entry in catalog.OPENAI_MODELS.items():
        published = _PUBLISHED.get(model)
        for quality in entry.qualities:
            for index, size in enumerate(entry.sizes):
                if published and quality in published[2]:
                    source, date, table = published
                    rows["openai", model, quality, size] = Price(Decimal(table[quality][index]), source, date)
                else:
                    rates = TOKEN_RATES[model]
                    usd = _formula_price(model, quality, size)
                    assert usd is not None
                    assumed = " x an assumed multiple of high" if quality in _BEYOND_HIGH else ""
                    rows["openai", model, quality, size] = Price(
                        usd, f"{FORMULA_SOURCE}{assumed} at {rates.source}", f"{FORMULA_DATE}; {rates.date}"
                    )
    return rows


def _stability_rows() -> dict[PriceKey, Price]:
    credit = Decimal(catalog.STABILITY_CREDIT_USD)
    return {
        ("stability", name, ""): Price(Decimal(model.credits) * credit, *_credit_source(model))
        for name, model in catalog.STABILITY_MODELS.items()
    }


def _credit_source(model: catalog.StabilityModel) -> tuple[str, str]:
    fact = model.entry.sources["credits"]
    return f"{model.credits} credits x ${catalog.STABILITY_CREDIT_USD}: {fact.source}", fact.date


def _huggingface_rows() -> dict[PriceKey, Price]:
    rows = {}
    for name, entry in (catalog.HUGGINGFACE_MODELS | catalog.HUGGINGFACE_REFERENCE_MODELS).items():
        fact = entry.sources["price"]
        rows["huggingface", name, ""] = Price(Decimal("0.003"), fact.source, fact.date)
    return rows


_FALLBACK = "fallback for a model the studio does not offer (an OpenAI-compatible server's)"
PRICE_TABLE: dict[PriceKey, Price] = {
    ("local", "*", ""): Price(Decimal("0"), "the offline painter runs on the studio's own CPU", "-"),
    **_openai_rows(),
    ("openai", "*", ""): Price(Decimal("0.211"), _FALLBACK + ": gpt-image-2 high 1024x1024", "2026-05-06"),
    **_stability_rows(),
    ("stability", "*", ""): Price(Decimal("0.08"), _FALLBACK + ": Ultra's 8 credits", "2026"),
    **_huggingface_rows(),
    ("huggingface", "*", ""): Price(Decimal("0.003"), _FALLBACK, "2026"),
}
DEFAULT_IMAGE_PRICES: dict[PriceKey, Decimal] = {key: price.usd for key, price in PRICE_TABLE.items()}

# The studio's generic words for quality, mapped onto GPT Image's.
QUALITY_SYNONYMS = {"standard": "medium", "hd": "high"}


def image_prices() -> Mapping[PriceKey, Decimal]:
    overrides = setting("IMAGE_PRICES", None) or {}
    return {**DEFAULT_IMAGE_PRICES, **{tuple(key): Decimal(str(value)) for key, value in overrides.items()}}


def estimated_quality(provider: str, model: str, quality: str) -> str:
    """The quality a request is priced at: a blank or "auto" quality is the model's default, taken as the
    highest quality the model takes (no default is documented; an estimate must not fall short)."""
    quality = (quality or "").strip().lower()
    quality = QUALITY_SYNONYMS.get(quality, quality) if provider == "openai" else quality
    entry = catalog.model_entries(provider).get(model)
    if quality in ("", "auto") and entry is not None and entry.auto_quality:
        return entry.auto_quality
    return quality


def unit_price(provider: str, model: str, quality: str = "", size: str = "") -> Decimal:
    prices = image_prices()
    quality = estimated_quality(provider, model, quality)
    entry = catalog.model_entries(provider).get(model)
    if provider == "openai" and entry is not None and size not in entry.sizes:
        if size in ("", "auto"):  # the model picks: the dearest standard size
            return max(unit_price(provider, model, quality, option) for option in entry.sizes)
        if (price := _formula_price(model, quality, size)) is not None:
            return price
    for key in ((provider, model, quality, size), (provider, model, "", size)):
        if key in prices:
            return prices[key]
    for key in ((provider, model, quality), (provider, model, ""), (provider, "*", "")):
        if key in prices:
            return prices[key]
    return Decimal("0")


def estimate_cost(
    provider: str, model: str, quality: str, size: str, count: int, *, references: int = 0
) -> Decimal:
    """Estimated US dollars for `count` images; 0 for the local painter and unknown providers.

    With `references` (the reference images the provider sends): OpenAI adds their image input tokens once
    per edit call (up to 10 images a call); Stability may answer from a Control service instead of the
    model, so the dearer of the two is counted."""
    count = max(count, 0)
    unit = unit_price(provider, model, quality, size)
    if references > 0 and provider == "stability":
        credit = Decimal(catalog.STABILITY_CREDIT_USD)
        unit = max([unit, *(Decimal(c) * credit for c in catalog.STABILITY_CONTROL_CREDITS.values())])
    total = unit * count
    if references > 0 and provider == "openai" and count:
        calls = -(-count // IMAGES_PER_EDIT_CALL)
        total += reference_input_cost(model, references, openai_input_fidelity(model) or "high") * calls
    return total.quantize(CENT)


def actual_cost(provider: str, model: str, usage: Mapping[str, Any] | None) -> Decimal | None:
    """What the provider billed for a call (or a job's calls), from the usage it reported; None when it
    reported nothing to price (Hugging Face bills compute time and reports none).

    GPT Image: input text tokens, input image tokens and output tokens at the model's token rates (output
    text tokens, if any, at the image output rate: the model pages list no text output price). Stability:
    {"credits": N} at the credit's dollar price. The local painter costs nothing."""
    if provider in ("local", "patterns"):
        return Decimal("0")
    if not usage:
        return None
    if provider == "stability":
        credits = usage.get("credits")
        if credits is None:
            return None
        return (Decimal(str(credits)) * Decimal(catalog.STABILITY_CREDIT_USD)).quantize(CENT)
    if provider == "openai":
        rates = TOKEN_RATES.get(model)
        if rates is None or "output_tokens" not in usage:
            return None
        details = usage.get("input_tokens_details") or {}
        image_input = int(details.get("image_tokens", 0))
        text_input = int(details.get("text_tokens", int(usage.get("input_tokens", 0)) - image_input))
        output = int(usage["output_tokens"])
        dollars = (
            text_input * rates.text_input + image_input * rates.image_input + output * rates.image_output
        )
        return (dollars / MILLION).quantize(CENT, ROUND_HALF_UP)
    return None
