"""Hugging Face inference (the router's hf-inference provider) for text-to-image models.

With reference images the request is image-to-image with an instruction-editing model
(HUGGINGFACE_REFERENCE_MODEL, FLUX.1 Kontext [dev] by default) in place of the chosen text-to-image model:
the task's JSON body `{"inputs": <base64 image>, "parameters": {"prompt", "target_size", ...}}` (the
Inference Providers image-to-image spec), image bytes back. The model takes one image: the first face
reference, else the first reference.
"""

from __future__ import annotations

import base64
import re
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
    aspect_of,
    others_not_used,
    parse_size,
    reference_record,
    reference_rejected_message,
    setting,
    sniff_image_format,
    user_message,
)
from studio.portraits.providers.remote import HTTPProvider, json_or_none

DEFAULT_BASE_URL = "https://router.huggingface.co"
DEFAULT_MODEL = "black-forest-labs/FLUX.1-schnell"
DEFAULT_REFERENCE_MODEL = "black-forest-labs/FLUX.1-Kontext-dev"
REFERENCE_MODEL_SETTING = "HUGGINGFACE_REFERENCE_MODEL"
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
            max_references=1,
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
            ),
        )

    @property
    def reference_model(self) -> str:
        return setting(REFERENCE_MODEL_SETTING, DEFAULT_REFERENCE_MODEL) or DEFAULT_REFERENCE_MODEL

    def reference_indexes(self, model: str, roles: Sequence[str]) -> list[int]:
        """One reference: the first face reference, else the first."""
        if not roles:
            return []
        return [roles.index("face") if "face" in roles else 0]

    def reference_note(self, model: str, roles: Sequence[str]) -> str:
        if not roles:
            return ""
        role = roles[self.reference_indexes(model, roles)[0]]
        entry = catalog.HUGGINGFACE_REFERENCE_MODELS.get(self.reference_model)
        editor = entry.label if entry else self.reference_model
        return (
            f"{self.label} uses one reference: the first {role} reference, with {editor} in place of the "
            f"chosen model{others_not_used(len(roles))}."
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

    def image_to_image_body(
        self, body: dict[str, Any], reference: ReferenceInput, model: str
    ) -> dict[str, Any]:
        """The text-to-image body as the image-to-image task: the reference as `inputs`, the instruction
        prompt and the size as `parameters.prompt` and `target_size`."""
        parameters = dict(body["parameters"])
        width, height = parameters.pop("width"), parameters.pop("height")
        prompt = self.prompt_with_references(body["inputs"], [reference], model)
        parameters |= {"prompt": prompt, "target_size": {"width": width, "height": height}}
        return {"inputs": base64.b64encode(reference.data).decode("ascii"), "parameters": parameters}

    def _generate(self, request: GenerationRequest, model: str) -> GenerationResult:
        references = self.references_used(model, request.references)
        reference = references[0] if references else None
        if reference is not None:
            model = self.reference_model  # a text-to-image model takes no image
        url = self.endpoint(model)
        images = []
        body: dict[str, Any] = {}
        for index in range(request.count):
            seed = None if request.seed is None else request.seed + index
            body = self.body_for(request, seed)
            if reference is not None:
                body = self.image_to_image_body(body, reference, model)
            images.append(self.with_retries(lambda body=body: self._call(url, body, model, reference)))
        parameters = {
            key: value
            for key, value in body["parameters"].items()
            if key not in ("seed", "negative_prompt", "prompt")
        }
        if reference is not None:
            target = parameters.pop("target_size")
            width, height = target["width"], target["height"]
            parameters["references"] = reference_record(references)
        else:
            width, height = parameters.pop("width"), parameters.pop("height")
        return GenerationResult(
            images=images,
            provider=self.name,
            model=model,
            parameters=parameters | {"size": f"{width}x{height}", "n": request.count},
            estimated_cost=self.estimate_cost(
                model, "", f"{width}x{height}", request.count, references=len(references)
            ),
        )

    def _call(
        self, url: str, body: dict[str, Any], model: str, reference: ReferenceInput | None = None
    ) -> GeneratedImage:
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
        if reference is None:
            raise self.status_error(response, model, detail, kind)
        if kind is None and response.status_code == 400 and "image" in detail.lower():
            message = reference_rejected_message(self.label, [reference.name], detail)
            raise self.error(ErrorKind.INVALID_REQUEST, detail, model=model, status=400, message=message)
        error = self.status_error(response, model, detail, kind)
        if error.kind is ErrorKind.MODEL_UNAVAILABLE:
            # The editing model comes from its own setting, not the chosen model's.
            message = user_message(
                error.kind,
                provider_label=self.label,
                model=model,
                model_setting=REFERENCE_MODEL_SETTING,
                detail=detail,
            )
            raise self.error(error.kind, detail, model=model, status=error.status, message=message)
        raise error


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
