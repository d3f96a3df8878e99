"""What each provider offers today: one table per provider, every fact with its source and date.

The provider modules, the forms and the price table read these tables; nothing else lists models. A model
that is not in a table is not offered; a retired model is refused before any request is sent (see
`retirement`). docs/providers.md explains how the tables were checked and how to update them.

OpenAI's facts come from the docstrings of the installed `openai` SDK (OPENAI_SDK, the only API reference
the studio pins); a fact the SDK does not state says where it came from instead.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from studio.portraits.providers.common import parse_size

OPENAI_SDK = "openai 3.63.0"
SDK_CHECKED = "2026-12-07"
# The SDK docstrings each fact below is read from, under site-packages/openai/.
SDK_GENERATE = f"{OPENAI_SDK} resources/images.py Images.generate docstring, types/image_generate_params.py"
SDK_EDIT = f"{OPENAI_SDK} resources/images.py Images.edit docstring, types/image_edit_params.py"
SDK_MODELS = f"{OPENAI_SDK} types/image_model.py ImageModel (Deprecated values)"
SDK_RESPONSE = f"{OPENAI_SDK} types/images_response.py ImagesResponse.usage / .quality"


@dataclass(frozen=True)
class Fact:
    source: str
    date: str


@dataclass(frozen=True)
class FreeSizes:
    """Any WIDTHxHEIGHT within these limits (SDK: size docstring; min_pixels: OpenAI's calculator)."""

    step: int = 16
    max_edge: int = 3840
    max_pixels: int = 3840 * 2160
    min_pixels: int = 655_360
    max_ratio: float = 3.0
    experimental_above: int = 2560 * 1440

    def problem(self, size: str) -> str | None:
        """Why `size` is not a valid free size, or None when it is."""
        dimensions = parse_size(size)
        if dimensions is None:
            return f'"{size}" is not WIDTHxHEIGHT'
        width, height = dimensions
        if width % self.step or height % self.step:
            return f"width and height must both be divisible by {self.step}"
        if max(width, height) > self.max_edge or width * height > self.max_pixels:
            return "the largest size is 3840x2160"
        if width * height < self.min_pixels:
            return f"the image must have at least {self.min_pixels:,} pixels"
        if max(width, height) > self.max_ratio * min(width, height):
            return "the aspect ratio must be between 1:3 and 3:1"
        return None


STANDARD_SIZES = ("1024x1024", "1024x1536", "1536x1024")


@dataclass(frozen=True)
class ModelEntry:
    """One current model and its parameter family. Empty tuples mean "not offered" (the API default)."""

    id: str
    label: str
    sizes: tuple[str, ...] = ()
    free_sizes: FreeSizes | None = None
    qualities: tuple[str, ...] = ()
    # What a blank or "auto" quality is estimated as: see pricing.estimated_quality.
    auto_quality: str = ""
    backgrounds: tuple[str, ...] = ()
    output_formats: tuple[str, ...] = ()
    complexity: tuple[str, ...] = ()
    # Edits (POST /v1/images/edits): the input_fidelity values the model takes (empty: omit the parameter)
    # and how many reference images one edit takes.
    input_fidelity: tuple[str, ...] = ()
    max_reference_images: int = 0
    endpoint: str = ""
    sources: Mapping[str, Fact] = field(default_factory=dict)
    notes: str = ""


@dataclass(frozen=True)
class RetiredModel:
    id: str
    date: str
    replacement: str
    source: Fact


# OpenAI.

_SDK = Fact(SDK_GENERATE, SDK_CHECKED)
_SDK_EDIT = Fact(SDK_EDIT, SDK_CHECKED)
_CALCULATOR = Fact(
    "OpenAI image cost calculator as transcribed at community.openai.com/t/1382699 (min pixels)", "2026-06-05"
)
_OPENAI_FACTS = {
    "models": _SDK,
    "sizes": _SDK,
    "free_sizes": _SDK,
    "min_pixels": _CALCULATOR,
    "qualities": _SDK,
    "auto_quality": Fact(f"{SDK_GENERATE}: auto 'selects the best quality for the given model'", SDK_CHECKED),
    "backgrounds": _SDK,
    "output_formats": Fact(
        f"{SDK_GENERATE}; gif and svg need preview access and are not offered", SDK_CHECKED
    ),
    "complexity": _SDK,
    "input_fidelity": _SDK_EDIT,
    "max_reference_images": _SDK_EDIT,
}
GPT_FORMATS = ("png", "jpeg", "webp")
GPT_QUALITIES = ("low", "medium", "high")
# gpt-image-2.5 and its snapshots also take xhigh and max (SDK: quality docstring).
GPT_2_5_QUALITIES = ("low", "medium", "high", "xhigh", "max")
COMPLEXITY = ("low", "medium", "high")


def _gpt(
    model_id: str,
    label: str,
    *,
    free: bool = False,
    qualities: tuple[str, ...] = GPT_QUALITIES,
    backgrounds: tuple[str, ...] = ("auto", "opaque"),
    complexity: tuple[str, ...] = (),
    input_fidelity: tuple[str, ...] = (),
    notes: str = "",
) -> ModelEntry:
    return ModelEntry(
        id=model_id,
        label=label,
        sizes=STANDARD_SIZES,
        free_sizes=FreeSizes() if free else None,
        qualities=qualities,
        # Undocumented per model, so the highest quality the model takes: an estimate never falls short.
        auto_quality=qualities[-1],
        backgrounds=backgrounds,
        output_formats=GPT_FORMATS,
        complexity=complexity,
        input_fidelity=input_fidelity,
        max_reference_images=16,
        endpoint="/v1/images/generations",
        sources=_OPENAI_FACTS,
        notes=notes,
    )


_TRANSPARENT = ("auto", "opaque", "transparent")
OPENAI_MODELS: dict[str, ModelEntry] = {
    entry.id: entry
    for entry in (
        _gpt("gpt-image-2", "GPT Image 2", free=True, backgrounds=_TRANSPARENT, notes="transparent: preview"),
        _gpt(
            "gpt-image-2-2026-04-21", "GPT Image 2 (2026-04-21 snapshot)", free=True, backgrounds=_TRANSPARENT
        ),
        _gpt(
            "gpt-image-2.5-sunburst",
            "GPT Image 2.5 Sunburst",
            free=True,
            qualities=GPT_2_5_QUALITIES,
            backgrounds=_TRANSPARENT,
        ),
        _gpt(
            "gpt-image-2.5-sunburst-2026-09-08",
            "GPT Image 2.5 Sunburst (2026-09-08 snapshot)",
            free=True,
            qualities=GPT_2_5_QUALITIES,
            backgrounds=_TRANSPARENT,
        ),
        _gpt(
            "gpt-image-2.5-flare",
            "GPT Image 2.5 Flare",
            free=True,
            qualities=GPT_2_5_QUALITIES,
            backgrounds=_TRANSPARENT,
        ),
        _gpt(
            "gpt-image-2.5-flare-2026-09-08",
            "GPT Image 2.5 Flare (2026-09-08 snapshot)",
            free=True,
            qualities=GPT_2_5_QUALITIES,
            backgrounds=_TRANSPARENT,
        ),
        # The SDK names 2.6 among the models but not among those taking free sizes, xhigh/max or transparent
        # backgrounds; the 2.6 Sunburst model page (developers.openai.com, 2026-11) describes complexity.
        _gpt("gpt-image-2.6-sunburst", "GPT Image 2.6 Sunburst", complexity=COMPLEXITY),
        _gpt("gpt-image-2.6-flare", "GPT Image 2.6 Flare", complexity=COMPLEXITY),
        _gpt(
            "gpt-image-1.5",
            "GPT Image 1.5",
            backgrounds=_TRANSPARENT,
            input_fidelity=("low", "high"),
            notes="transparent: the studio's earlier table (the SDK says 'supported GPT Image models')",
        ),
        _gpt(
            "gpt-image-1-mini",
            "GPT Image 1 mini (cheapest)",
            backgrounds=_TRANSPARENT,
            input_fidelity=("low",),
            notes="deprecated on developers.openai.com/api/docs/models/gpt-image-1-mini; no shutdown date",
        ),
        _gpt(
            "chatgpt-image-latest",
            "ChatGPT Image (latest)",
            notes="an alias that moves with ChatGPT; 'same input constraints as GPT image models' (SDK edit)",
        ),
    )
}

_RETIRED_FACT = Fact(SDK_MODELS, SDK_CHECKED)
OPENAI_RETIRED: dict[str, RetiredModel] = {
    # SDK: "This model was retired on May 12, 2026. Use a GPT image model instead."
    "dall-e-2": RetiredModel("dall-e-2", "2026-05-12", "gpt-image-2", _RETIRED_FACT),
    "dall-e-3": RetiredModel("dall-e-3", "2026-05-12", "gpt-image-2", _RETIRED_FACT),
    # SDK: "GPT Image 1 was shut down on October 23, 2026. Use gpt-image-2.5-sunburst or gpt-image-2.5-flare".
    "gpt-image-1": RetiredModel("gpt-image-1", "2026-10-23", "gpt-image-2.5-sunburst", _RETIRED_FACT),
}

# Stability AI: the v2beta Stable Image generate endpoints. A credit is US$0.01.

_STABILITY_CREDITS = Fact(
    "credits per image: the studio's Stability table (platform.stability.ai/pricing, as recorded in 2026); "
    "stability.ai/api-pricing-update-25 (2025-07-09) changed other services only",
    "2026 (studio table); page re-read 2026-12-07",
)
_STABILITY_ENDPOINTS = Fact(
    "api.stability.ai /v2beta/stable-image/generate/{core,ultra,sd3} (platform.stability.ai/docs)",
    "read 2026-12-07",
)
_STABILITY_FACTS = {"endpoint": _STABILITY_ENDPOINTS, "credits": _STABILITY_CREDITS}
STABILITY_ASPECT_RATIOS = ("1:1", "16:9", "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21")
STABILITY_CREDIT_USD = "0.01"


@dataclass(frozen=True)
class StabilityModel:
    entry: ModelEntry
    credits: str  # per successful image; failed calls are not charged


def _stability(model_id: str, label: str, endpoint: str, credits: str) -> StabilityModel:
    entry = ModelEntry(
        id=model_id,
        label=label,
        sizes=STABILITY_ASPECT_RATIOS,
        output_formats=("png", "jpeg", "webp"),
        endpoint=f"/v2beta/stable-image/generate/{endpoint}",
        sources=_STABILITY_FACTS,
    )
    return StabilityModel(entry, credits)


STABILITY_MODELS: dict[str, StabilityModel] = {
    model.entry.id: model
    for model in (
        _stability("core", "Stable Image Core", "core", "3"),
        _stability("ultra", "Stable Image Ultra", "ultra", "8"),
        _stability("sd3.5-large", "SD 3.5 Large", "sd3", "6.5"),
        _stability("sd3.5-large-turbo", "SD 3.5 Large Turbo", "sd3", "4"),
        _stability("sd3.5-medium", "SD 3.5 Medium", "sd3", "3.5"),
        _stability("sd3.5-flash", "SD 3.5 Flash", "sd3", "2.5"),
    )
}

# Stability AI's Control services, which the studio uses for style and pose references (docs/references.md).
# Each takes one reference image and answers like the generate endpoints; none takes a model.
_STABILITY_CONTROL = Fact(
    "api.stability.ai /v2beta/stable-image/control/{structure,style} (platform.stability.ai/docs); credits: "
    "platform.stability.ai/pricing as recorded in the studio's notes (structure 3, style 4), not re-read",
    "2026-12-07",
)
STABILITY_CONTROL_CREDITS: dict[str, str] = {"control/structure": "3", "control/style": "4"}
STABILITY_CONTROL_SOURCE = _STABILITY_CONTROL

# Hugging Face: text-to-image through the router's hf-inference provider.

_HF_ROUTER = Fact(
    "huggingface.co/docs/inference-providers (router.huggingface.co/{provider}/models/{id}); text-to-image "
    "partners listed there: hf-inference, fal-ai, nebius, replicate, together, nscale",
    "undated page, read 2026-12-07",
)
_HF_COMPUTE = Fact(
    "studio estimate: a few GPU seconds per FLUX.1 image on hf-inference (billed by compute time)", "2026"
)
HUGGINGFACE_ROUTER_PROVIDERS = ("hf-inference", "fal-ai", "nebius", "replicate", "together", "nscale")
HUGGINGFACE_MODELS: dict[str, ModelEntry] = {
    entry.id: entry
    for entry in (
        ModelEntry(
            id="black-forest-labs/FLUX.1-schnell",
            label="FLUX.1 [schnell]",
            sizes=("1024x1024", "832x1216", "1216x832"),
            output_formats=("png",),
            endpoint="/hf-inference/models/black-forest-labs/FLUX.1-schnell",
            sources={"router": _HF_ROUTER, "price": _HF_COMPUTE},
        ),
        ModelEntry(
            id="black-forest-labs/FLUX.1-dev",
            label="FLUX.1 [dev]",
            sizes=("1024x1024", "832x1216", "1216x832"),
            output_formats=("png",),
            endpoint="/hf-inference/models/black-forest-labs/FLUX.1-dev",
            sources={"router": _HF_ROUTER, "price": _HF_COMPUTE},
        ),
    )
}
# The instruction-editing model that takes a reference image (image-to-image): HUGGINGFACE_REFERENCE_MODEL.
_HF_IMAGE_TO_IMAGE = Fact(
    'huggingface.co/docs/inference-providers/tasks/image-to-image: POST {"inputs": base64 image, '
    '"parameters": {"prompt", "target_size", ...}}, image bytes back '
    "(@huggingface/tasks image-to-image spec)",
    "read 2026-12-07",
)
HUGGINGFACE_REFERENCE_MODELS: dict[str, ModelEntry] = {
    "black-forest-labs/FLUX.1-Kontext-dev": ModelEntry(
        id="black-forest-labs/FLUX.1-Kontext-dev",
        label="FLUX.1 Kontext [dev] (instruction editing)",
        output_formats=("png",),
        max_reference_images=1,
        endpoint="/hf-inference/models/black-forest-labs/FLUX.1-Kontext-dev",
        sources={"router": _HF_ROUTER, "image_to_image": _HF_IMAGE_TO_IMAGE, "price": _HF_COMPUTE},
    ),
}
# The router retires hf-inference models with a 410 and no announced date: there is nothing to list ahead.
HUGGINGFACE_RETIRED: dict[str, RetiredModel] = {}

RETIRED: dict[str, Mapping[str, RetiredModel]] = {
    "openai": OPENAI_RETIRED,
    "stability": {},
    "huggingface": HUGGINGFACE_RETIRED,
}


def model_entries(provider: str) -> dict[str, ModelEntry]:
    if provider == "openai":
        return OPENAI_MODELS
    if provider == "stability":
        return {name: model.entry for name, model in STABILITY_MODELS.items()}
    if provider == "huggingface":
        return HUGGINGFACE_MODELS
    return {}


def retirement(provider: str, model: str, today: dt.date | None = None) -> RetiredModel | None:
    """The retirement of `model`: from the provider's table, or a past shutdown date the provider's own
    model list announced (remembered by `remember_shutdowns`)."""
    if retired := RETIRED.get(provider, {}).get(model):
        return retired
    shutdown = listed_shutdowns(provider).get(model)
    if shutdown and dt.date.fromisoformat(shutdown) <= (today or dt.date.today()):
        replacement = next((name for name in model_entries(provider) if name != model), "")
        return RetiredModel(
            model, shutdown, replacement, Fact(f"{provider} /v1/models shutdown_date", shutdown)
        )
    return None


def retirement_message(provider: str, model: str, today: dt.date | None = None) -> str:
    """ "dall-e-3 was retired on 2026-05-12; use gpt-image-2." or "" for a model still in service."""
    retired = retirement(provider, model, today)
    if retired is None:
        return ""
    return f"{retired.id} was retired on {retired.date}; use {retired.replacement}."


# The shutdown dates a provider's model list announced, shared by every process through the cache.
_SHUTDOWNS_KEY = "providers:{}:shutdown-dates"
# The providers whose model list announces shutdown dates (OpenAI's /v1/models).
LISTS_SHUTDOWNS = frozenset({"openai"})
SHUTDOWNS_TTL = 7 * 24 * 3600


# Each process reads the shared cache at most once a minute per provider: the generator form asks about every
# model it offers, and the shared cache may be a database table.
SHUTDOWNS_MEMO_SECONDS = 60.0
_memo: dict[str, tuple[float, dict[str, str]]] = {}


def remember_shutdowns(provider: str, shutdowns: Mapping[str, str]) -> None:
    from django.core.cache import cache

    cache.set(_SHUTDOWNS_KEY.format(provider), dict(shutdowns), SHUTDOWNS_TTL)
    _memo[provider] = (time.monotonic(), dict(shutdowns))


def listed_shutdowns(provider: str) -> dict[str, str]:
    from django.core.cache import cache

    if provider not in LISTS_SHUTDOWNS:
        return {}
    now = time.monotonic()
    memo = _memo.get(provider)
    if memo is not None and now - memo[0] < SHUTDOWNS_MEMO_SECONDS:
        return memo[1]
    shutdowns = cache.get(_SHUTDOWNS_KEY.format(provider)) or {}
    _memo[provider] = (now, shutdowns)
    return shutdowns


def forget_shutdowns() -> None:
    """Drop this process's memo (tests that change the cache behind its back)."""
    _memo.clear()
