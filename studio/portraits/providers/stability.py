"""Stability AI's Stable Image API (v2beta): Core, Ultra and the SD 3.5 models."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from studio.portraits.providers import catalog
from studio.portraits.providers.base import (
    ErrorKind,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    ModelOptions,
    OptionSpec,
    nearest_by_aspect,
    sniff_image_format,
)
from studio.portraits.providers.remote import HTTPProvider, json_or_none

DEFAULT_BASE_URL = "https://api.stability.ai"
ASPECT_RATIOS = catalog.STABILITY_ASPECT_RATIOS
OUTPUT_FORMATS = ("png", "jpeg", "webp")
STYLE_PRESETS = (
    "3d-model",
    "analog-film",
    "anime",
    "cinematic",
    "comic-book",
    "digital-art",
    "enhance",
    "fantasy-art",
    "isometric",
    "line-art",
    "low-poly",
    "modeling-compound",
    "neon-punk",
    "origami",
    "photographic",
    "pixel-art",
    "tile-texture",
)
SD3_MODELS = ("sd3.5-large", "sd3.5-large-turbo", "sd3.5-medium", "sd3.5-flash")
# Turbo and flash models ignore negative prompts and the API rejects one.
NO_NEGATIVE_PROMPT = ("sd3.5-large-turbo", "sd3.5-flash")
MAX_SEED = 4294967294


class StabilityProvider(HTTPProvider):
    name = "stability"
    label = "Stability AI"
    key_setting = "STABILITY_API_KEY"
    model_setting = "STABILITY_MODEL"
    timeout_setting = "STABILITY_TIMEOUT"
    base_url_setting = "STABILITY_BASE_URL"
    default_base_url = DEFAULT_BASE_URL
    default_model_fallback = "core"
    models = tuple((name, model.entry.label) for name, model in catalog.STABILITY_MODELS.items())
    sizes = (
        ("1:1", "Square (1:1)"),
        ("2:3", "Portrait (2:3)"),
        ("4:5", "Portrait (4:5)"),
        ("16:9", "Wide (16:9)"),
    )
    qualities = ()
    styles = tuple((preset, preset.replace("-", " ").capitalize()) for preset in STYLE_PRESETS)
    default_prompt_limit = 10000

    def model_options(self, model: str) -> ModelOptions:
        if (model or self.default_model) != "core":  # the other Stability models take no preset
            return ModelOptions()
        return ModelOptions(
            style=OptionSpec("style", "Style preset", choices=tuple(self.styles), blank_label="None")
        )

    def endpoint(self, model: str) -> str:
        if model in ("core", "ultra"):
            return f"{self.base_url}/v2beta/stable-image/generate/{model}"
        if model in SD3_MODELS:
            return f"{self.base_url}/v2beta/stable-image/generate/sd3"
        # Only known names reach the URL; user text never becomes a path.
        raise self.error(ErrorKind.MODEL_UNAVAILABLE, f"unknown Stability model {model!r}", model=model)

    def form_for(self, request: GenerationRequest, model: str, seed: int | None) -> dict[str, str]:
        output_format = str(request.options.get("output_format") or "png")
        if output_format not in OUTPUT_FORMATS:
            raise self.error(
                ErrorKind.INVALID_REQUEST,
                f'output format "{output_format}" is not png, jpeg or webp',
                model=model,
            )
        form = {
            "prompt": request.prompt,
            "aspect_ratio": nearest_by_aspect(request.size, ASPECT_RATIOS, "1:1"),
            "output_format": output_format,
        }
        if model in SD3_MODELS:
            form["model"] = model
        if request.negative_prompt and model not in NO_NEGATIVE_PROMPT:
            form["negative_prompt"] = request.negative_prompt
        if seed is not None:
            form["seed"] = str(seed % (MAX_SEED + 1))
        style = request.style.strip().lower()
        if style:
            if style not in STYLE_PRESETS or model != "core":
                raise self.error(
                    ErrorKind.INVALID_REQUEST, f'style preset "{request.style}" is not available', model=model
                )
            form["style_preset"] = style
        return form

    def _generate(self, request: GenerationRequest, model: str) -> GenerationResult:
        url = self.endpoint(model)
        images = []
        form: dict[str, str] = {}
        for index in range(request.count):
            seed = None if request.seed is None else request.seed + index
            form = self.form_for(request, model, seed)
            images.append(self.with_retries(lambda form=form: self._call(url, form, model)))
        recorded = {
            key: value for key, value in form.items() if key not in ("prompt", "negative_prompt", "seed")
        }
        return GenerationResult(
            images=images,
            provider=self.name,
            model=model,
            parameters=recorded | {"n": request.count},
            # Stability reports no usage: a successful image costs the model's documented credits.
            usage={"credits": float(catalog.STABILITY_MODELS[model].credits) * request.count},
            estimated_cost=self.estimate_cost(model, "", form.get("aspect_ratio", ""), request.count),
        )

    def _call(self, url: str, form: dict[str, str], model: str) -> GeneratedImage:
        # (None, value) parts make requests send multipart/form-data, which the API requires.
        files = {name: (None, value) for name, value in form.items()}
        response = self.post(url, model=model, files=files, headers={"Accept": "image/*"})
        if response.status_code != 200:
            raise self._failure(response, model)
        content_type = response.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            return self._json_image(json_or_none(response), model)
        finish_reason = response.headers.get("finish-reason", "SUCCESS")
        if finish_reason == "CONTENT_FILTERED":
            raise self.error(ErrorKind.MODERATION, "finish-reason CONTENT_FILTERED", model=model, status=200)
        image_format = sniff_image_format(response.content)
        if image_format is None:
            raise self.error(ErrorKind.MALFORMED, f"the body was not an image ({content_type})", model=model)
        return GeneratedImage(response.content, image_format, seed=_int_or_none(response.headers.get("seed")))

    def _json_image(self, body: Any, model: str) -> GeneratedImage:
        if not isinstance(body, dict) or not isinstance(body.get("image"), str):
            raise self.error(ErrorKind.MALFORMED, "the JSON response has no image", model=model)
        if body.get("finish_reason") == "CONTENT_FILTERED":
            raise self.error(ErrorKind.MODERATION, "finish_reason CONTENT_FILTERED", model=model, status=200)
        try:
            raw = base64.b64decode(body["image"], validate=True)
        except (binascii.Error, ValueError):
            raise self.error(ErrorKind.MALFORMED, "the image was not valid base64", model=model) from None
        image_format = sniff_image_format(raw)
        if image_format is None:
            raise self.error(ErrorKind.MALFORMED, "the image was not PNG, JPEG or WebP", model=model)
        return GeneratedImage(raw, image_format, seed=_int_or_none(body.get("seed")))

    def _failure(self, response: Any, model: str) -> Exception:
        body = json_or_none(response)
        name = str(body.get("name", "")) if isinstance(body, dict) else ""
        errors = body.get("errors") if isinstance(body, dict) else None
        # v2beta sends {"name", "errors": [...]}; older engines' errors carry one "message" instead.
        message = str(body.get("message") or "") if isinstance(body, dict) else ""
        if isinstance(errors, list) and errors:
            detail = "; ".join(str(error) for error in errors)
        else:
            detail = message or name
        if not detail:
            detail = f"HTTP {response.status_code}: {response.text[:200]}"
        kind = ErrorKind.MODERATION if name == "content_moderation" else None
        return self.status_error(response, model, detail, kind)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
