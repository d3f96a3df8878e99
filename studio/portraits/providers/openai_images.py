"""OpenAI image generation through the official SDK: the GPT Image models in catalog.OPENAI_MODELS.

With reference images the request goes to `POST /v1/images/edits` (`client.images.edit`): the references as
`image[]` in the user's order (up to the model's max_reference_images, 16), the prompt plus
IDENTITY_INSTRUCTION, and `input_fidelity` only where the catalog says the model takes it (the highest it
takes: high on gpt-image-1.5, low on gpt-image-1-mini; omitted for gpt-image-2 and newer). Edits take no
`moderation`, so it is not sent with references.

Named openai_images so it never shadows the `openai` package. The SDK's own retries are off
(max_retries=0): retries go through the shared helper so every provider backs off the same way and a
call that may already have been billed is never repeated. Retired models (DALL·E, gpt-image-1) are refused
before any request (Provider.generate).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import openai

from studio.portraits.providers import catalog
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
    ReferenceInput,
    nearest_by_aspect,
    parse_retry_after,
    reference_record,
    reference_rejected_message,
    setting,
    sniff_image_format,
)
from studio.portraits.providers.pricing import openai_input_fidelity

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# gpt-image-2 is the current general-purpose GPT Image model and the replacement the catalog names for DALL·E.
DEFAULT_MODEL = "gpt-image-2"
# Listing models runs in a web request (the settings page): it must end well before gunicorn's 60 s.
DEFAULT_CHECK_TIMEOUT = 10.0

# Models OpenAI has shut down, with the date (catalog.OPENAI_RETIRED has the replacement and source).
RETIRED_MODELS: Mapping[str, str] = {name: model.date for name, model in catalog.OPENAI_RETIRED.items()}
IMAGE_MODEL_PREFIXES = ("gpt-image", "chatgpt-image", "dall-e")

MODERATION_CODES = {"content_policy_violation", "moderation_blocked"}
QUOTA_CODES = {"insufficient_quota", "billing_hard_limit_reached", "billing_not_active"}
GPT_IMAGE_SIZES = catalog.STANDARD_SIZES
# The studio's generic words map onto each family's own.
QUALITY_SYNONYMS = {"standard": "medium", "hd": "high"}
# What /v1/images/edits takes of the generation parameters (the SDK's Images.edit signature).
EDIT_PARAMETERS = {
    "model",
    "prompt",
    "size",
    "quality",
    "background",
    "output_format",
    "output_compression",
    "complexity",
    "safety_identifier",
    "n",
}
# Server-chosen file names: an error that names one ("reference-2.png") names the user's reference.
REFERENCE_FILENAME = "reference-{}.png"
_REFERENCE_INDEX = re.compile(r"reference-(\d+)\.png|image\[(\d+)\]")
QUALITY_LABELS = {
    "auto": "Auto",
    "low": "Low",
    "medium": "Medium",
    "high": "High",
    "xhigh": "Extra high",
    "max": "Max",
}


@dataclass(frozen=True)
class Family:
    """What one model accepts, as the request builder and the forms read it."""

    sizes: tuple[str, ...]
    qualities: Mapping[str, str]  # requested -> sent
    styles: tuple[str, ...] = ()
    max_images_per_call: int = 10
    prompt_limit: int = 32000
    legacy: bool = False  # DALL·E's response_format and style: no current model takes them
    free_sizes: catalog.FreeSizes | None = None
    entry: catalog.ModelEntry | None = None


def _family(entry: catalog.ModelEntry) -> Family:
    qualities = {"": "auto", "auto": "auto", **{quality: quality for quality in entry.qualities}}
    return Family(sizes=entry.sizes, qualities=qualities, free_sizes=entry.free_sizes, entry=entry)


# A model the table does not know (an OpenAI-compatible server's own) gets the plain GPT Image family.
GPT_IMAGE = _family(catalog.ModelEntry("", "", sizes=GPT_IMAGE_SIZES, qualities=catalog.GPT_QUALITIES))


def family_of(model: str) -> Family:
    entry = catalog.OPENAI_MODELS.get(model)
    return _family(entry) if entry else GPT_IMAGE


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
    models = tuple((entry.id, entry.label) for entry in catalog.OPENAI_MODELS.values())
    sizes = (
        ("1024x1024", "Square (1024×1024)"),
        ("1024x1536", "Portrait (1024×1536)"),
        ("1536x1024", "Landscape (1536×1024)"),
    )
    # Every quality some model takes; qualities_for(model) has the model's own.
    qualities = tuple(QUALITY_LABELS.items())
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
        model = model or self.default_model
        family = family_of(model)
        advanced = tuple(
            OptionSpec(
                name,
                GPT_IMAGE_OPTION_LABELS[name],
                choices=tuple(rest),
                blank_label=default_label,  # blank: the API's default, not sent
                help_text=GPT_IMAGE_OPTION_HELP.get(name, ""),
            )
            for name, ((_default, default_label), *rest) in gpt_image_options(
                model or self.default_model
            ).items()
        )
        references = family.entry.max_reference_images if family.entry else 0
        return ModelOptions(advanced=advanced, max_references=references)

    # Generation.

    def qualities_for(self, model: str) -> list[tuple[str, str]]:
        """The quality choices `model` takes, as (value, label)."""
        return [(value, QUALITY_LABELS[value]) for value in family_of(model).qualities if value]

    def parameters_for(self, request: GenerationRequest, model: str) -> dict[str, Any]:
        """The request body for the model's family; raises INVALID_REQUEST for values it cannot take."""
        family = family_of(model)
        size = request.size.strip()
        free_ok = family.free_sizes is not None and family.free_sizes.problem(size) is None
        if not (size in family.sizes or free_ok or size == "auto"):
            size = nearest_by_aspect(size, family.sizes, family.sizes[0])
        requested = request.quality.strip().lower()
        requested = QUALITY_SYNONYMS.get(requested, requested)
        quality = family.qualities.get(requested)
        if quality is None:
            choices = ", ".join(key for key in family.qualities if key)
            raise self.error(
                ErrorKind.INVALID_REQUEST, f'quality "{request.quality}" is not one of {choices}', model=model
            )
        params: dict[str, Any] = {"model": model, "prompt": request.prompt, "size": size, "quality": quality}
        return params | self._gpt_image_options(request.options, model)

    def _gpt_image_options(self, options: Mapping[str, Any], model: str) -> dict[str, Any]:
        chosen: dict[str, Any] = {"output_format": "png"}
        taken = gpt_image_options(model)
        if options.get("complexity") and "complexity" not in taken:
            raise self.error(ErrorKind.INVALID_REQUEST, f"{model} takes no complexity setting", model=model)
        for name, choices in taken.items():
            values = [value for value, _label in choices]
            if options.get(name):
                if options[name] not in values:
                    raise self.error(
                        ErrorKind.INVALID_REQUEST,
                        f'{name} "{options[name]}" is not one of {", ".join(values)}',
                        model=model,
                    )
                chosen[name] = options[name]
        if chosen.get("background") == "transparent" and chosen["output_format"] not in ("png", "webp"):
            raise self.error(
                ErrorKind.INVALID_REQUEST, "a transparent background needs PNG or WebP output", model=model
            )
        if "output_compression" in options and chosen["output_format"] in ("jpeg", "webp"):
            chosen["output_compression"] = int(options["output_compression"])
        if options.get("safety_identifier"):
            chosen["safety_identifier"] = str(options["safety_identifier"])
        return chosen

    def edit_parameters(
        self, params: dict[str, Any], references: tuple[ReferenceInput, ...], model: str
    ) -> dict[str, Any]:
        """The generation parameters as an edit with `references`; raises INVALID_REQUEST for a reference
        that is not PNG, JPEG or WebP, or a prompt the instruction makes too long."""
        edit = {key: value for key, value in params.items() if key in EDIT_PARAMETERS}
        edit["prompt"] = self.prompt_with_references(params["prompt"], references, model)
        images = []
        for index, reference in enumerate(references, 1):
            image_format = sniff_image_format(reference.data)
            if image_format is None:
                detail = "it is not a PNG, JPEG or WebP image"
                message = reference_rejected_message(self.label, [reference.name], detail)
                raise self.error(ErrorKind.INVALID_REQUEST, detail, model=model, message=message)
            images.append((REFERENCE_FILENAME.format(index), reference.data, f"image/{image_format}"))
        edit["image"] = images
        if fidelity := openai_input_fidelity(model):
            edit["input_fidelity"] = fidelity
        return edit

    def _generate(self, request: GenerationRequest, model: str) -> GenerationResult:
        params = self.parameters_for(request, model)
        references = self.references_used(model, request.references)
        if references:
            params = self.edit_parameters(params, references, model)
        per_call = family_of(model).max_images_per_call
        images: list[GeneratedImage] = []
        usage: dict[str, Any] = {}
        remaining = request.count
        while remaining > 0:
            n = min(remaining, per_call)
            # Each paid call retries on its own, so a failure in the second never repeats the first.
            batch, batch_usage = self.with_retries(
                lambda n=n: self._call(params | {"n": n}, model, references)
            )
            images += batch
            usage = add_usage(usage, batch_usage)
            remaining -= n
        recorded = {key: value for key, value in params.items() if key not in ("prompt", "model", "image")}
        if references:
            recorded["references"] = reference_record(references)
        return GenerationResult(
            images=images,
            provider=self.name,
            model=model,
            parameters=recorded | {"n": request.count},
            usage=usage,
            estimated_cost=self.estimate_cost(
                model, params["quality"], params["size"], request.count, references=len(references)
            ),
        )

    def _call(
        self, params: dict[str, Any], model: str, references: tuple[ReferenceInput, ...] = ()
    ) -> tuple[list[GeneratedImage], dict[str, Any]]:
        try:
            if references:
                response = self.client.images.edit(**params)
            else:
                response = self.client.images.generate(**params)
        except openai.BadRequestError as exc:
            raise self._bad_request(exc, model, references) from exc
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

    def _bad_request(
        self, exc: openai.BadRequestError, model: str, references: tuple[ReferenceInput, ...]
    ) -> ProviderError:
        """A 400; when it is about an input image (param "image"), the message names the reference."""
        error = self.map_error(exc, model)
        body = exc.body if isinstance(exc.body, dict) else {}
        param = str(body.get("param") or "")
        if not references or error.kind is not ErrorKind.INVALID_REQUEST or not param.startswith("image"):
            return error
        names = [reference.name for reference in references]
        match = _REFERENCE_INDEX.search(f"{error.detail} {param}")
        if match and match[1] and 1 <= int(match[1]) <= len(names):
            names = [names[int(match[1]) - 1]]
        elif match and match[2] and int(match[2]) < len(names):
            names = [names[int(match[2])]]
        message = reference_rejected_message(self.label, names, error.detail)
        return self.error(ErrorKind.INVALID_REQUEST, error.detail, model=model, status=400, message=message)

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
        announced = {
            model.id: str(_date(model.shutdown_date))
            for model in listed
            if getattr(model, "shutdown_date", None) and _date(model.shutdown_date)
        }
        # The generator hides and generate refuses what the provider says has shut down (catalog.retirement).
        catalog.remember_shutdowns(self.name, announced)
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
        if retired := catalog.retirement_message(self.name, configured, today):
            warnings.append(f"{self.model_setting} is set to a retired model: {retired}")
        elif configured not in {model.id for model in models}:
            warnings.append(f'{self.model_setting} is "{configured}", which this API key does not list.')
        return ModelListing(models, warnings)


# The GPT Image options the generator offers, as (value, label); the first of each is the API's default,
# which the form offers as blank (not sent). The form builds its choices from here, the provider checks them
# against gpt_image_options(model), which narrows them to what the model takes.
GPT_IMAGE_OPTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "background": (("auto", "Auto"), ("opaque", "Opaque"), ("transparent", "Transparent")),
    "moderation": (("auto", "Auto (standard)"), ("low", "Low (less restrictive)")),
    "output_format": (("png", "PNG"), ("jpeg", "JPEG"), ("webp", "WebP")),
}
GPT_IMAGE_OPTION_LABELS = {
    "background": "Background",
    "moderation": "Moderation",
    "output_format": "Output format",
    "complexity": "Complexity",
}
GPT_IMAGE_OPTION_HELP = {
    "background": "Transparent needs PNG or WebP output.",
    "output_format": "What OpenAI sends; the studio stores every portrait as PNG.",
}
COMPLEXITY_CHOICES = (("", "Model default"), ("low", "Low"), ("medium", "Medium"), ("high", "High"))


def gpt_image_options(model: str) -> dict[str, tuple[tuple[str, str], ...]]:
    """GPT_IMAGE_OPTIONS as `model` takes them: its backgrounds and formats, and complexity if it has one."""
    entry = family_of(model).entry
    if entry is None or not entry.id:
        return GPT_IMAGE_OPTIONS
    options = {
        "background": tuple(pair for pair in GPT_IMAGE_OPTIONS["background"] if pair[0] in entry.backgrounds),
        "moderation": GPT_IMAGE_OPTIONS["moderation"],
        "output_format": tuple(
            pair for pair in GPT_IMAGE_OPTIONS["output_format"] if pair[0] in entry.output_formats
        ),
    }
    if entry.complexity:
        options["complexity"] = tuple(pair for pair in COMPLEXITY_CHOICES if pair[0] in entry.complexity)
    return options


def add_usage(total: Mapping[str, Any], more: Mapping[str, Any]) -> dict[str, Any]:
    """Two usage blocks added up, nested details included (a job of several calls books them all)."""
    summed = dict(total)
    for key, value in more.items():
        if isinstance(value, bool) or not isinstance(value, (int, dict)):
            summed[key] = value
        elif isinstance(value, dict):
            summed[key] = add_usage(summed.get(key) or {}, value)
        else:
            summed[key] = int(summed.get(key) or 0) + value
    return summed


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
