"""Stability AI's Stable Image API (v2beta): Core, Ultra and the SD 3.5 models.

Reference images: every v2beta endpoint that takes an image takes one, so a request uses one reference, the
first of the highest-priority role the chosen model can serve (docs/references.md):

- face, outfit: image-to-image on the chosen model (`generate/sd3` with mode=image-to-image, or
  `generate/ultra`), the reference as the starting picture at REFERENCE_STRENGTH. It carries the colours,
  composition and a rough likeness over, not a reliable identity. Core takes no image.
- pose: `control/structure` (control_strength), which keeps the pose and composition, not the face.
- style: `control/style` (fidelity), which keeps the art style, not the face.

The Control services take no model and cost their own credits (catalog.STABILITY_CONTROL_CREDITS).
`reference_note` says which reference is used and what is not kept.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

from studio.portraits.providers import catalog
from studio.portraits.providers.base import (
    ErrorKind,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    ModelOptions,
    OptionSpec,
    ReferenceInput,
    nearest_by_aspect,
    others_not_used,
    reference_record,
    reference_rejected_message,
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

# Reference roles in the order Stability serves them (one per request), and the endpoint for each.
ROLE_PRIORITY = ("face", "pose", "style", "outfit")
IMAGE_TO_IMAGE = "image-to-image"
ROLE_ENDPOINTS = {
    "face": IMAGE_TO_IMAGE,
    "outfit": IMAGE_TO_IMAGE,
    "pose": "control/structure",
    "style": "control/style",
}
IMAGE_TO_IMAGE_MODELS = (*SD3_MODELS, "ultra")
# How far image-to-image may move from the reference: 0 returns it, 1 ignores it.
REFERENCE_STRENGTH = 0.6
STRUCTURE_CONTROL_STRENGTH = 0.7  # the API's default
STYLE_FIDELITY = 0.5  # the API's default
ROLE_KEEPS = {
    "face": "as the starting picture (image-to-image): it keeps colours, composition and a rough likeness, "
    "not a reliable identity",
    "outfit": "as the starting picture (image-to-image): it keeps colours and composition, not the face",
    "pose": "for the pose and composition (Control Structure): it does not keep the face",
    "style": "for the art style (Control Style): it does not keep the face",
}


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
            return ModelOptions(max_references=1)
        return ModelOptions(
            style=OptionSpec("style", "Style preset", choices=tuple(self.styles), blank_label="None"),
            max_references=1,
        )

    # References.

    def reference_endpoint(self, model: str, role: str) -> str | None:
        """The endpoint that serves a reference of `role` with `model`; None when it cannot."""
        endpoint = ROLE_ENDPOINTS.get(role)
        if endpoint == IMAGE_TO_IMAGE and model not in IMAGE_TO_IMAGE_MODELS:
            return None
        return endpoint

    def reference_indexes(self, model: str, roles: Sequence[str]) -> list[int]:
        """The first reference of the highest-priority role `model` can serve (one per request)."""
        model = model or self.default_model
        for role in ROLE_PRIORITY:
            if role in roles and self.reference_endpoint(model, role):
                return [roles.index(role)]
        return []

    def reference_note(self, model: str, roles: Sequence[str]) -> str:
        if not roles:
            return ""
        model = model or self.default_model
        used = self.reference_indexes(model, roles)
        if not used:
            if model == "core":
                return (
                    "Stable Image Core takes no reference image and this character has no pose or style "
                    "reference: the portrait is made from the prompt alone. Choose SD 3.5 or Ultra to start "
                    "from the face reference."
                )
            return (
                f"{self.label} can use none of these references: the portrait is made from the prompt alone."
            )
        role = roles[used[0]]
        return (
            f"{self.label} uses one reference: the first {role} reference, {ROLE_KEEPS[role]}"
            f"{others_not_used(len(roles))}."
        )

    def endpoint(self, model: str, route: str = "") -> str:
        if route.startswith("control/"):
            return f"{self.base_url}/v2beta/stable-image/{route}"
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

    def reference_form(self, form: dict[str, str], route: str) -> dict[str, str]:
        """The text fields `route` takes: image-to-image and Control Structure follow the reference's shape
        (no aspect_ratio); the Control services take no model."""
        form = dict(form)
        if route == IMAGE_TO_IMAGE:
            form.pop("aspect_ratio", None)
            form["strength"] = str(REFERENCE_STRENGTH)
            if "model" in form:  # generate/sd3; Ultra takes the image without a mode
                form["mode"] = "image-to-image"
        elif route == "control/structure":
            form.pop("aspect_ratio", None)
            form.pop("model", None)
            form["control_strength"] = str(STRUCTURE_CONTROL_STRENGTH)
        elif route == "control/style":
            form.pop("model", None)
            form["fidelity"] = str(STYLE_FIDELITY)
        return form

    def _generate(self, request: GenerationRequest, model: str) -> GenerationResult:
        references = self.references_used(model, request.references)
        reference = references[0] if references else None
        route = (self.reference_endpoint(model, reference.role) or "") if reference else ""
        url = self.endpoint(model, route)
        images = []
        form: dict[str, str] = {}
        for index in range(request.count):
            seed = None if request.seed is None else request.seed + index
            form = self.form_for(request, model, seed)
            if reference:
                form = self.reference_form(form, route)
            images.append(self.with_retries(lambda form=form: self._call(url, form, model, reference)))
        recorded: dict[str, Any] = {
            key: value for key, value in form.items() if key not in ("prompt", "negative_prompt", "seed")
        }
        credits = catalog.STABILITY_MODELS[model].credits
        if route.startswith("control/"):
            credits = catalog.STABILITY_CONTROL_CREDITS[route]
        if reference:
            recorded |= {"endpoint": route, "references": reference_record(references)}
        return GenerationResult(
            images=images,
            provider=self.name,
            model=model,
            parameters=recorded | {"n": request.count},
            # Stability reports no usage: a successful image costs the endpoint's documented credits.
            usage={"credits": float(credits) * request.count},
            estimated_cost=self.estimate_cost(
                model, "", form.get("aspect_ratio", ""), request.count, references=len(references)
            ),
        )

    def _call(
        self, url: str, form: dict[str, str], model: str, reference: ReferenceInput | None = None
    ) -> GeneratedImage:
        # (None, value) parts make requests send multipart/form-data, which the API requires.
        files: dict[str, tuple[str | None, str | bytes] | tuple[str, bytes, str]] = {
            name: (None, value) for name, value in form.items()
        }
        if reference is not None:
            files["image"] = ("reference.png", reference.data, f"image/{sniff_image_format(reference.data)}")
        response = self.post(url, model=model, files=files, headers={"Accept": "image/*"})
        if response.status_code != 200:
            raise self._failure(response, model, reference)
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

    def _failure(self, response: Any, model: str, reference: ReferenceInput | None = None) -> Exception:
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
        about_image = isinstance(errors, list) and any(str(error).startswith("image") for error in errors)
        if reference is not None and response.status_code == 400 and about_image:
            message = reference_rejected_message(self.label, [reference.name], detail)
            return self.error(ErrorKind.INVALID_REQUEST, detail, model=model, status=400, message=message)
        return self.status_error(response, model, detail, kind)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
