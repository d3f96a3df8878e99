"""OpenAI image generation through the official SDK: the GPT Image family and the (retired) DALL·E models.

Named openai_images so it never shadows the `openai` package. The SDK's own retries are off
(max_retries=0): retries go through the shared helper so every provider backs off the same way and a
call that may already have been billed is never repeated.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import openai

from studio.portraits.providers.base import (
    CONNECT_TIMEOUT,
    UNVERIFIED_ORGANIZATION,
    ErrorKind,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    ModelOptions,
    OptionSpec,
    Provider,
    ProviderError,
    nearest_by_aspect,
    parse_retry_after,
    parse_size,
    setting,
    sniff_image_format,
)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# gpt-image-1 was shut down on 2026-10-23; gpt-image-2 is the current general-purpose GPT Image model.
DEFAULT_MODEL = "gpt-image-2"
# Listing models runs in a web request (the settings page): it must end well before gunicorn's 60 s.
DEFAULT_CHECK_TIMEOUT = 10.0

# Models OpenAI has shut down, with the date, for warnings even when /v1/models no longer says so.
RETIRED_MODELS: Mapping[str, str] = {
    "dall-e-2": "2026-05-12",
    "dall-e-3": "2026-05-12",
    "gpt-image-1": "2026-10-23",
}
IMAGE_MODEL_PREFIXES = ("gpt-image", "chatgpt-image", "dall-e")

MODERATION_CODES = {"content_policy_violation", "moderation_blocked"}
QUOTA_CODES = {"insufficient_quota", "billing_hard_limit_reached", "billing_not_active"}
GPT_IMAGE_SIZES = ("1024x1024", "1536x1024", "1024x1536")
GPT_IMAGE_QUALITIES = {"": "auto", "auto": "auto", "low": "low", "medium": "medium", "high": "high"}
# The studio's generic words map onto each family's own.
QUALITY_SYNONYMS = {"standard": "medium", "hd": "high"}


@dataclass(frozen=True)
class Family:
    """What one model family accepts."""

    sizes: tuple[str, ...]
    qualities: Mapping[str, str]  # requested -> sent ("" means not sent)
    styles: tuple[str, ...] = ()
    max_images_per_call: int = 10
    prompt_limit: int = 32000
    legacy: bool = False  # DALL·E: response_format and style; GPT Image: output_format and friends
    free_sizes: bool = False  # any WxH within limits (gpt-image-2 and 2.5)


DALL_E_2 = Family(
    sizes=("1024x1024", "512x512", "256x256"),
    qualities={"": "", "auto": "", "standard": "", "low": "", "medium": "", "high": "", "hd": ""},
    prompt_limit=1000,
    legacy=True,
)
DALL_E_3 = Family(
    sizes=("1024x1024", "1792x1024", "1024x1792"),
    qualities={
        "": "standard",
        "auto": "standard",
        "standard": "standard",
        "low": "standard",
        "medium": "standard",
        "high": "hd",
        "hd": "hd",
    },
    styles=("vivid", "natural"),
    max_images_per_call=1,
    prompt_limit=4000,
    legacy=True,
)
GPT_IMAGE = Family(sizes=GPT_IMAGE_SIZES, qualities=GPT_IMAGE_QUALITIES)
GPT_IMAGE_FREE_SIZE = Family(sizes=GPT_IMAGE_SIZES, qualities=GPT_IMAGE_QUALITIES, free_sizes=True)
GPT_IMAGE_2_5 = Family(
    sizes=GPT_IMAGE_SIZES,
    qualities={**GPT_IMAGE_QUALITIES, "xhigh": "xhigh", "max": "max"},
    free_sizes=True,
)


def family_of(model: str) -> Family:
    if model.startswith("dall-e-2"):
        return DALL_E_2
    if model.startswith("dall-e"):
        return DALL_E_3
    if model.startswith("gpt-image-2.5"):
        return GPT_IMAGE_2_5
    if model == "gpt-image-2" or model.startswith("gpt-image-2-"):
        return GPT_IMAGE_FREE_SIZE
    return GPT_IMAGE


def _free_size_ok(size: str) -> bool:
    dimensions = parse_size(size)
    if dimensions is None:
        return False
    width, height = dimensions
    return (
        width % 16 == 0
        and height % 16 == 0
        and max(width, height) <= 3840
        and width * height <= 3840 * 2160
        and max(width, height) <= 3 * min(width, height)
    )


@dataclass(frozen=True)
class ImageModelInfo:
    id: str
    shutdown_date: str | None
    retired: bool


@dataclass(frozen=True)
class ModelListing:
    models: list[ImageModelInfo]
    warnings: list[str]

    @property
    def ids(self) -> list[str]:
        return [model.id for model in self.models]


class OpenAIProvider(Provider):
    name = "openai"
    label = "OpenAI"
    key_setting = "OPENAI_API_KEY"
    model_setting = "OPENAI_IMAGE_MODEL"
    timeout_setting = "OPENAI_TIMEOUT"
    default_model_fallback = DEFAULT_MODEL
    models = (
        ("gpt-image-2", "GPT Image 2"),
        ("gpt-image-1.5", "GPT Image 1.5"),
        ("gpt-image-1-mini", "GPT Image 1 mini (cheapest)"),
    )
    sizes = (
        ("1024x1024", "Square (1024×1024)"),
        ("1024x1536", "Portrait (1024×1536)"),
        ("1536x1024", "Landscape (1536×1024)"),
    )
    qualities = (("auto", "Auto"), ("low", "Low"), ("medium", "Medium"), ("high", "High"))
    styles = ()

    def __init__(self) -> None:
        super().__init__()
        self.base_url = setting("OPENAI_BASE_URL", DEFAULT_BASE_URL) or DEFAULT_BASE_URL
        self.check_timeout = float(setting("PROVIDER_CHECK_TIMEOUT", DEFAULT_CHECK_TIMEOUT))
        self._client: openai.OpenAI | None = None

    @property
    def client(self) -> openai.OpenAI:
        if self._client is None:
            self._client = shared_client(self.api_key, self.base_url, self.timeout)
        return self._client

    def prompt_limit(self, model: str = "") -> int:
        return family_of(model or self.default_model).prompt_limit

    def model_options(self, model: str) -> ModelOptions:
        family = family_of(model or self.default_model)
        style = None
        if family.styles:
            style = OptionSpec(
                "style",
                "Style",
                choices=tuple((name, name.capitalize()) for name in family.styles),
                blank_label="Default (vivid)",
                help_text="Vivid leans dramatic; natural looks less hyper-real.",
            )
        if family.legacy:  # DALL·E takes none of the GPT Image options
            return ModelOptions(style=style)
        advanced = tuple(
            OptionSpec(
                name,
                GPT_IMAGE_OPTION_LABELS[name],
                choices=tuple(rest),
                blank_label=default_label,  # blank: the API's default, not sent
                help_text=GPT_IMAGE_OPTION_HELP.get(name, ""),
            )
            for name, ((_default, default_label), *rest) in GPT_IMAGE_OPTIONS.items()
        )
        return ModelOptions(style=style, advanced=advanced)

    # Generation.

    def parameters_for(self, request: GenerationRequest, model: str) -> dict[str, Any]:
        """The request body for the model's family; raises INVALID_REQUEST for values it cannot take."""
        family = family_of(model)
        size = request.size.strip()
        if not (size in family.sizes or (family.free_sizes and _free_size_ok(size)) or size == "auto"):
            size = nearest_by_aspect(size, family.sizes, family.sizes[0])
        if size == "auto" and family.legacy:
            size = family.sizes[0]
        requested = request.quality.strip().lower()
        if not family.legacy:
            requested = QUALITY_SYNONYMS.get(requested, requested)
        quality = family.qualities.get(requested)
        if quality is None:
            choices = ", ".join(sorted(key for key in family.qualities if key))
            raise self.error(
                ErrorKind.INVALID_REQUEST, f'quality "{request.quality}" is not one of {choices}', model=model
            )
        params: dict[str, Any] = {"model": model, "prompt": request.prompt, "size": size}
        if quality:
            params["quality"] = quality
        if family.legacy:
            params["response_format"] = "b64_json"
            style = request.style.strip().lower()
            if style and family.styles:
                if style not in family.styles:
                    raise self.error(
                        ErrorKind.INVALID_REQUEST,
                        f'style "{request.style}" is not one of {", ".join(family.styles)}',
                        model=model,
                    )
                params["style"] = style
        else:
            params |= self._gpt_image_options(request.options, model)
        return params

    def _gpt_image_options(self, options: Mapping[str, Any], model: str) -> dict[str, Any]:
        chosen = {"output_format": "png"}
        for name, choices in GPT_IMAGE_OPTIONS.items():
            values = [value for value, _label in choices]
            if options.get(name):
                if options[name] not in values:
                    raise self.error(
                        ErrorKind.INVALID_REQUEST,
                        f'{name} "{options[name]}" is not one of {", ".join(values)}',
                        model=model,
                    )
                chosen[name] = options[name]
        if "output_compression" in options and chosen["output_format"] in ("jpeg", "webp"):
            chosen["output_compression"] = int(options["output_compression"])
        if options.get("safety_identifier"):
            chosen["safety_identifier"] = str(options["safety_identifier"])
        return chosen

    def _generate(self, request: GenerationRequest, model: str) -> GenerationResult:
        params = self.parameters_for(request, model)
        per_call = family_of(model).max_images_per_call
        images: list[GeneratedImage] = []
        usage: dict[str, Any] = {}
        remaining = request.count
        while remaining > 0:
            n = min(remaining, per_call)
            # Each paid call retries on its own, so a failure in the second never repeats the first.
            batch, batch_usage = self.with_retries(lambda n=n: self._call(params | {"n": n}, model))
            images += batch
            for key, value in batch_usage.items():
                usage[key] = usage.get(key, 0) + value if isinstance(value, int) else value
            remaining -= n
        recorded = {key: value for key, value in params.items() if key not in ("prompt", "model")}
        return GenerationResult(
            images=images,
            provider=self.name,
            model=model,
            parameters=recorded | {"n": request.count},
            usage=usage,
            estimated_cost=self.estimate_cost(
                model, params.get("quality", ""), params["size"], request.count
            ),
        )

    def _call(self, params: dict[str, Any], model: str) -> tuple[list[GeneratedImage], dict[str, Any]]:
        try:
            response = self.client.images.generate(**params)
        except (openai.OpenAIError, ValueError) as exc:
            raise self.map_error(exc, model) from exc
        data = getattr(response, "data", None)
        if not isinstance(data, list) or not data:
            raise self.error(ErrorKind.MALFORMED, "the response has no images", model=model)
        images = []
        for item in data:
            encoded = getattr(item, "b64_json", None)
            if not encoded:
                raise self.error(ErrorKind.MALFORMED, "an image came without b64_json", model=model)
            try:
                raw = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise self.error(ErrorKind.MALFORMED, "an image was not valid base64", model=model) from None
            image_format = sniff_image_format(raw)
            if image_format is None:
                raise self.error(ErrorKind.MALFORMED, "an image was not PNG, JPEG or WebP", model=model)
            images.append(GeneratedImage(raw, image_format, getattr(item, "revised_prompt", None)))
        usage = response.usage.model_dump(exclude_none=True) if getattr(response, "usage", None) else {}
        return images, usage

    # Errors.

    def map_error(self, exc: Exception, model: str) -> ProviderError:
        if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
            cause = type(exc.__cause__).__name__
            # Failing to connect is safe to repeat; a timeout or drop after sending may have been billed.
            sent = cause not in {"ConnectError", "ConnectTimeout"}
            return self.error(ErrorKind.TRANSIENT, exc.message, model=model, maybe_billed=sent)
        if isinstance(exc, openai.APIStatusError):
            return self._status_error(exc, model)
        return self.error(ErrorKind.MALFORMED, f"unreadable response: {exc}", model=model)

    def _status_error(self, exc: openai.APIStatusError, model: str) -> ProviderError:
        status = exc.status_code
        code = (exc.code or "").lower()
        body = exc.body if isinstance(exc.body, dict) else {}
        detail = str(body.get("message") or exc.message)
        retry_after = parse_retry_after(exc.response.headers)
        if code in QUOTA_CODES:
            kind = ErrorKind.QUOTA
        elif code in MODERATION_CODES or "safety system" in detail.lower():
            kind = ErrorKind.MODERATION
        elif code == "model_not_found" or status == 404:
            kind = ErrorKind.MODEL_UNAVAILABLE
        elif status == 401:
            kind = ErrorKind.AUTH
        elif status == 403:
            # Unverified organizations get 403 for GPT Image models: the model, not the key, is the issue.
            lowered = detail.lower()
            model_refused = UNVERIFIED_ORGANIZATION in lowered or "model" in lowered
            kind = ErrorKind.MODEL_UNAVAILABLE if model_refused else ErrorKind.AUTH
        elif status == 429:
            kind = ErrorKind.RATE_LIMITED
        elif status in (408, 409) or status >= 500:
            kind = ErrorKind.TRANSIENT
        else:
            kind = ErrorKind.INVALID_REQUEST
        return self.error(kind, detail, model=model, retry_after=retry_after, status=status)

    # Models.

    def list_image_models(self, today: dt.date | None = None) -> ModelListing:
        """The image models this key can use, with warnings about shut-down or retiring ones."""
        today = today or dt.date.today()
        try:
            page = self.client.with_options(timeout=_timeout(self.check_timeout)).models.list()
            listed = [model for model in page if model.id.startswith(IMAGE_MODEL_PREFIXES)]
        except (openai.OpenAIError, ValueError) as exc:
            raise self.map_error(exc, "") from exc
        models: list[ImageModelInfo] = []
        warnings: list[str] = []
        for model in sorted(listed, key=lambda model: model.id):
            shutdown = getattr(model, "shutdown_date", None) or RETIRED_MODELS.get(model.id)
            retired = False
            if shutdown:
                retired = _date(shutdown) is not None and _date(shutdown) <= today  # type: ignore[operator]
                verb = "was shut down" if retired else "will shut down"
                warnings.append(
                    f'OpenAI model "{model.id}" {verb} on {shutdown}; choose a current GPT Image model.'
                )
            models.append(ImageModelInfo(model.id, shutdown, retired))
        configured = self.default_model
        if configured in RETIRED_MODELS:
            warnings.append(
                f'{self.model_setting} is "{configured}", which OpenAI shut down on '
                f"{RETIRED_MODELS[configured]}; "
                f'set it to "{DEFAULT_MODEL}".'
            )
        elif configured not in {model.id for model in models}:
            warnings.append(f'{self.model_setting} is "{configured}", which this API key does not list.')
        return ModelListing(models, warnings)


# The GPT Image options the generator offers, as (value, label); the first of each is the API's default,
# which the form offers as blank (not sent). The form builds its choices from here, the provider checks them.
GPT_IMAGE_OPTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "background": (("auto", "Auto"), ("opaque", "Opaque"), ("transparent", "Transparent")),
    "moderation": (("auto", "Auto (standard)"), ("low", "Low (less restrictive)")),
    "output_format": (("png", "PNG"), ("jpeg", "JPEG"), ("webp", "WebP")),
}
GPT_IMAGE_OPTION_LABELS = {
    "background": "Background",
    "moderation": "Moderation",
    "output_format": "Output format",
}
GPT_IMAGE_OPTION_HELP = {
    "background": "Transparent needs PNG or WebP output.",
    "output_format": "What OpenAI sends; the studio stores every portrait as PNG.",
}


# One client per configuration in each process: a worker makes a fresh provider for every job, and a fresh
# client would open a new connection (a TCP and TLS handshake with api.openai.com) for each image.
_clients: dict[tuple[str, str, float], openai.OpenAI] = {}
_clients_lock = threading.Lock()
_MAX_CLIENTS = 8  # a changed key or URL makes a new one; old ones are dropped, never closed under a caller


def shared_client(api_key: str, base_url: str, timeout: float) -> openai.OpenAI:
    """The process's SDK client for this key, base URL and timeout (thread-safe, like the client itself)."""
    key = (api_key, base_url, timeout)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            if len(_clients) >= _MAX_CLIENTS:
                _clients.pop(next(iter(_clients)))
            client = _clients[key] = openai.OpenAI(
                api_key=api_key, base_url=base_url, timeout=_timeout(timeout), max_retries=0
            )
        return client


def _timeout(seconds: float) -> openai.Timeout:
    """Wait `seconds` for an answer but at most CONNECT_TIMEOUT to connect, as the requests providers do.

    openai.Timeout is the SDK's own httpx Timeout class (the SDK may bundle its own httpx)."""
    return openai.Timeout(seconds, connect=min(CONNECT_TIMEOUT, seconds))


def _date(value: str | int) -> dt.date | None:
    if isinstance(value, int):  # some deployments send a Unix timestamp
        return dt.datetime.fromtimestamp(value, dt.UTC).date()
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
