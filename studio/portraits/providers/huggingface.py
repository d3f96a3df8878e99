"""Hugging Face inference (the router's hf-inference provider) for text-to-image models."""

from __future__ import annotations

import re
from typing import Any

from studio.portraits.providers import catalog
from studio.portraits.providers.base import (
    ErrorKind,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    ModelOptions,
    OptionSpec,
    aspect_of,
    parse_size,
    setting,
    sniff_image_format,
)
from studio.portraits.providers.remote import HTTPProvider, json_or_none

DEFAULT_BASE_URL = "https://router.huggingface.co"
DEFAULT_MODEL = "black-forest-labs/FLUX.1-schnell"
# A cold model answers 503 with an estimate; wait for it, but never longer than this per attempt.
DEFAULT_MAX_LOADING_WAIT = 60.0
# The router's words for a model hf-inference never served (a 400, unlike a retired model's 410).
NOT_SUPPORTED = "not supported by provider"
_MODEL_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
NUMERIC_OPTIONS = ("num_inference_steps", "guidance_scale")


class HuggingFaceProvider(HTTPProvider):
    name = "huggingface"
    label = "Hugging Face"
    key_setting = "HUGGINGFACE_API_TOKEN"
    model_setting = "HUGGINGFACE_MODEL"
    timeout_setting = "HUGGINGFACE_TIMEOUT"
    base_url_setting = "HUGGINGFACE_BASE_URL"
    default_base_url = DEFAULT_BASE_URL
    default_model_fallback = DEFAULT_MODEL
    models = tuple((name, entry.label) for name, entry in catalog.HUGGINGFACE_MODELS.items())
    sizes = (("1024x1024", "Square (1024×1024)"), ("832x1216", "Portrait (832×1216)"), ("1216x832", "Wide"))
    qualities = ()
    # Prompts go through a CLIP/T5 encoder that truncates long text; keep them short enough to count.
    default_prompt_limit = 2000

    def model_options(self, model: str) -> ModelOptions:
        return ModelOptions(
            advanced=(
                OptionSpec(
                    "num_inference_steps",
                    "Steps",
                    number=int,
                    min_value=1,
                    max_value=100,
                    help_text="Blank for the model's default; FLUX.1 [schnell] needs only 1–4.",
                ),
                OptionSpec(
                    "guidance_scale",
                    "Guidance scale",
                    number=float,
                    min_value=0,
                    max_value=30,
                    step="0.5",
                    help_text="How closely the image follows the prompt; blank for the model's default.",
                ),
            )
        )

    def __init__(self) -> None:
        super().__init__()
        self.max_loading_wait = float(setting("HUGGINGFACE_MAX_LOADING_WAIT", DEFAULT_MAX_LOADING_WAIT))
        # Loading estimates may exceed ordinary backoff caps; let them through up to max_loading_wait.
        self.max_delay = max(self.max_delay, self.max_loading_wait)

    def endpoint(self, model: str) -> str:
        if not _MODEL_ID.match(model):
            # User text never becomes a path: only owner/name ids reach the URL.
            raise self.error(
                ErrorKind.MODEL_UNAVAILABLE, f"{model!r} is not an owner/name model id", model=model
            )
        return f"{self.base_url}/hf-inference/models/{model}"

    def body_for(self, request: GenerationRequest, seed: int | None) -> dict[str, Any]:
        parameters: dict[str, Any] = {}
        if request.negative_prompt:
            parameters["negative_prompt"] = request.negative_prompt
        width, height = pixel_dimensions(request.size, int(setting("PORTRAIT_SIZE", 1024)))
        parameters |= {"width": width, "height": height}
        for name in NUMERIC_OPTIONS:
            if request.options.get(name) is not None:
                parameters[name] = request.options[name]
        if seed is not None:
            parameters["seed"] = seed
        return {"inputs": request.prompt, "parameters": parameters}

    def _generate(self, request: GenerationRequest, model: str) -> GenerationResult:
        url = self.endpoint(model)
        images = []
        body: dict[str, Any] = {}
        for index in range(request.count):
            seed = None if request.seed is None else request.seed + index
            body = self.body_for(request, seed)
            images.append(self.with_retries(lambda body=body: self._call(url, body, model)))
        parameters = {
            key: value for key, value in body["parameters"].items() if key not in ("seed", "negative_prompt")
        }
        width, height = parameters.pop("width"), parameters.pop("height")
        return GenerationResult(
            images=images,
            provider=self.name,
            model=model,
            parameters=parameters | {"size": f"{width}x{height}", "n": request.count},
            estimated_cost=self.estimate_cost(model, "", f"{width}x{height}", request.count),
        )

    def _call(self, url: str, body: dict[str, Any], model: str) -> GeneratedImage:
        response = self.post(url, model=model, json=body, headers={"Accept": "image/png"})
        if response.status_code == 200:
            image_format = sniff_image_format(response.content)
            if image_format is None:
                detail = f"the body was not an image ({response.headers.get('Content-Type', '')})"
                raise self.error(ErrorKind.MALFORMED, detail, model=model)
            return GeneratedImage(response.content, image_format, seed=body["parameters"].get("seed"))
        payload = json_or_none(response)
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, list):
            error = "; ".join(map(str, error))
        detail = str(error or f"HTTP {response.status_code}: {response.text[:200]}")
        if response.status_code == 503 and isinstance(payload, dict) and "estimated_time" in payload:
            # The model is loading: a wait-and-retry, as long as the estimate (capped) says.
            wait = min(float(payload.get("estimated_time") or 0), self.max_loading_wait)
            raise self.error(ErrorKind.TRANSIENT, detail, model=model, retry_after=wait, status=503)
        kind = ErrorKind.MODEL_UNAVAILABLE if NOT_SUPPORTED in detail.lower() else None
        raise self.status_error(response, model, detail, kind)


def pixel_dimensions(size: str, default_side: int) -> tuple[int, int]:
    """Width and height for diffusion models: multiples of 16 between 256 and 2048."""
    dimensions = parse_size(size)
    if dimensions is None:
        aspect = aspect_of(size) or 1.0
        side = default_side
        dimensions = (side, round(side / aspect)) if aspect >= 1 else (round(side * aspect), side)

    def clamp(value: int) -> int:
        return max(256, min(2048, round(value / 16) * 16))

    return clamp(dimensions[0]), clamp(dimensions[1])
