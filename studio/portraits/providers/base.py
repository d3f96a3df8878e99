"""Provider-neutral request/result types, error kinds and their user-facing messages, and the retry helper.

Every image provider speaks in these types, so the generation workflow never sees an SDK exception or an
HTTP status code: it sees a `ProviderError` whose `kind` says what to do next and whose `message` is
ready to show to the user.
"""

from __future__ import annotations

import io
import logging
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

from studio.portraits.providers import catalog
from studio.portraits.providers.common import (  # noqa: F401 - re-exported for the providers
    aspect_of,
    nearest_by_aspect,
    parse_size,
    setting,
)
from studio.portraits.providers.pricing import estimate_cost

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TIMEOUT = 120.0
# Connecting is quick or failing: never wait the (long) read timeout for it.
CONNECT_TIMEOUT = 10.0
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_RETRY_BASE_DELAY = 1.0
DEFAULT_RETRY_MAX_DELAY = 30.0
MISSING_KEY = "no API key is set"
# In a provider's error text: the model needs an organization that has completed the provider's verification.
UNVERIFIED_ORGANIZATION = "organization must be verified"


# Requests and results.


@dataclass(frozen=True)
class ReferenceInput:
    """A reference image sent with a request: PNG bytes (<= 1024 px long side), its role and identity."""

    data: bytes
    role: str
    name: str
    sha256: str
    painter_seed: int | None = None


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    negative_prompt: str = ""
    # "WxH" ("1024x1536") or an aspect ratio ("2:3"); each provider maps it to what its model accepts.
    size: str = ""
    quality: str = ""
    style: str = ""
    seed: int | None = None
    count: int = 1
    # Blank means the provider's configured default model.
    model: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    # The character's vocabulary values, for the local painter; remote providers use the prompt only.
    attributes: Mapping[str, Any] | None = None
    references: tuple[ReferenceInput, ...] = ()


@dataclass(frozen=True)
class GeneratedImage:
    data: bytes
    format: str  # "png", "jpeg" or "webp"
    revised_prompt: str | None = None
    seed: int | None = None

    def as_png(self) -> bytes:
        """The image as PNG bytes (converted with Pillow when the provider sent JPEG or WebP)."""
        if self.format == "png":
            return self.data
        from PIL import Image

        with Image.open(io.BytesIO(self.data)) as image:
            buffer = io.BytesIO()
            image.save(buffer, "PNG")
        return buffer.getvalue()


@dataclass(frozen=True)
class GenerationResult:
    images: list[GeneratedImage]
    provider: str
    model: str
    # What was actually sent after mapping (size, quality, style, ...), for the portrait's record.
    parameters: dict[str, Any] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)
    estimated_cost: Decimal = Decimal("0")


# Errors.


class ErrorKind(StrEnum):
    MODERATION = "moderation"
    RATE_LIMITED = "rate_limited"
    QUOTA = "quota"
    AUTH = "auth"
    MODEL_UNAVAILABLE = "model_unavailable"
    TRANSIENT = "transient"
    MALFORMED = "malformed"
    INVALID_REQUEST = "invalid_request"

    @property
    def retryable(self) -> bool:
        return self in (ErrorKind.RATE_LIMITED, ErrorKind.TRANSIENT)


def user_message(
    kind: ErrorKind,
    *,
    provider_label: str = "The image provider",
    model: str = "",
    key_setting: str = "",
    model_setting: str = "",
    detail: str = "",
    retry_after: float | None = None,
    maybe_billed: bool = False,
) -> str:
    """The one place that words provider failures for users: what happened, then what to do."""
    key = key_setting or "the provider's API key"
    model_name = f'"{model}"' if model else "the configured model"
    if kind is ErrorKind.MODERATION:
        return (
            f"{provider_label}'s safety system declined this prompt. "
            # One wording for quick prompts, which users type, and character prompts, built from the form.
            "Reword the prompt (for a character: its description or distinguishing features) and try again."
        )
    if kind is ErrorKind.RATE_LIMITED:
        return (
            f"{provider_label} is receiving too many requests from the studio right now. "
            f"{_try_again(retry_after, 'Wait a minute and try again.')}"
        )
    if kind is ErrorKind.QUOTA:
        return (
            f"The {provider_label} account has run out of credit or quota. "
            "Ask the studio admin to top it up, or choose another provider."
        )
    if kind is ErrorKind.AUTH and detail == MISSING_KEY:
        return f"No {provider_label} API key is set. Ask the studio admin to set {key}."
    if kind is ErrorKind.AUTH:
        return f"The {provider_label} API key was rejected. Ask the studio admin to check {key}."
    if kind is ErrorKind.MODEL_UNAVAILABLE and UNVERIFIED_ORGANIZATION in detail.lower():
        return (
            f"The model {model_name} needs a verified {provider_label} organization. Ask the studio admin to "
            "verify the organization in the provider's settings (it can take a few minutes to apply), or "
            "choose another model."
        )
    if kind is ErrorKind.MODEL_UNAVAILABLE:
        where = f" (setting {model_setting})" if model_setting else ""
        return (
            f"The model {model_name} is not available from {provider_label}: it may be retired or not "
            f"enabled for this account. Choose another model, or ask the studio admin to change it{where}."
        )
    if kind is ErrorKind.TRANSIENT and maybe_billed:
        # Sent and then lost (a read timeout, a dropped connection): the image may exist and be charged.
        return (
            f"{provider_label} did not answer in time (or dropped the connection) after the request was "
            "sent, so it may have made the image and billed it. Retry to send a new (paid) request."
        )
    if kind is ErrorKind.TRANSIENT:
        return (
            f"{provider_label} did not answer in time or had a temporary fault. "
            f"{_try_again(retry_after, 'Try again in a few minutes.')}"
        )
    if kind is ErrorKind.MALFORMED:
        return (
            f"{provider_label} sent back a response the studio could not read. "
            "Try again; if it keeps happening, tell the studio admin."
        )
    reason = f": {detail.rstrip('.')}." if detail else "."
    return f"{provider_label} could not accept the request{reason} Change the settings and try again."


def _try_again(retry_after: float | None, soon: str) -> str:
    """When to try again: the provider's Retry-After when it is over a minute, else the `soon` words."""
    if retry_after is None or retry_after <= 60:
        return soon
    minutes = math.ceil(retry_after / 60)
    if minutes < 90:
        return f"Try again in about {minutes} minutes."
    return f"Try again in about {round(retry_after / 3600)} hours."


class ProviderError(Exception):
    """A classified failed generation. `message` is for users; `detail` is the provider's words, for logs.

    `maybe_billed` marks failures after the request reached the provider (a read timeout, a dropped
    connection): the image may have been made and charged, so the call is not repeated automatically.
    """

    def __init__(
        self,
        kind: ErrorKind,
        message: str = "",
        retry_after: float | None = None,
        *,
        detail: str = "",
        provider: str = "",
        model: str = "",
        status: int | None = None,
        maybe_billed: bool = False,
    ) -> None:
        self.kind = kind
        self.message = message or user_message(
            kind, model=model, detail=detail, retry_after=retry_after, maybe_billed=maybe_billed
        )
        self.retry_after = retry_after
        self.detail = detail
        self.provider = provider
        self.model = model
        self.status = status
        self.maybe_billed = maybe_billed
        super().__init__(self.message)

    @property
    def retryable(self) -> bool:
        return self.kind.retryable and not self.maybe_billed

    def __repr__(self) -> str:
        return (
            f"ProviderError({self.kind.value}, provider={self.provider!r}, status={self.status}, "
            f"detail={self.detail!r})"
        )


# Retries.


def call_with_retries(
    fn: Callable[[], T],
    *,
    max_attempts: int,
    base_delay: float = DEFAULT_RETRY_BASE_DELAY,
    max_delay: float = DEFAULT_RETRY_MAX_DELAY,
    sleep: Callable[[float], Any] = time.sleep,
    jitter: Callable[[], float] = random.random,
) -> T:
    """Call fn, retrying retryable ProviderErrors with exponential backoff and jitter.

    A provider's `retry_after` (Retry-After, a model's loading estimate) is honoured up to max_delay. A
    longer one fails at once, so no worker is parked for an hour and no retry is sent early (it would be
    refused and may count against the limit); the error's message says when to try again. Other errors
    propagate at once.
    """
    attempt = 1
    while True:
        try:
            return fn()
        except ProviderError as error:
            if not error.retryable or attempt >= max_attempts:
                raise
            if error.retry_after is not None and error.retry_after > max_delay:
                raise
            delay = retry_delay(attempt, error.retry_after, base_delay, max_delay, jitter)
            logger.info(
                "generation.retry",
                extra={
                    "provider": error.provider,
                    "model": error.model,
                    "error_kind": error.kind.value,
                    "attempt": attempt,
                    "delay_ms": round(delay * 1000),
                },
            )
            sleep(delay)
            attempt += 1


def retry_delay(
    attempt: int,
    retry_after: float | None,
    base_delay: float,
    max_delay: float,
    jitter: Callable[[], float] = random.random,
) -> float:
    if retry_after is not None:
        # Wait at least what the server asked; a little spread keeps workers from returning together.
        return min(max(retry_after, 0.0) + base_delay * 0.1 * jitter(), max_delay)
    backoff = min(base_delay * 2 ** (attempt - 1), max_delay)
    # "Equal jitter": half fixed, half random, so the delay never collapses to zero.
    return backoff / 2 + backoff / 2 * jitter()


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from retry-after-ms or Retry-After (seconds or HTTP date); None when absent or unreadable."""
    lowered = {key.lower(): value for key, value in headers.items()}
    try:
        if "retry-after-ms" in lowered:
            return float(lowered["retry-after-ms"]) / 1000
        raw = lowered.get("retry-after")
        if raw is None:
            return None
        return float(raw)
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(lowered["retry-after"])
    except (TypeError, ValueError, IndexError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def sniff_image_format(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


# Providers.


@dataclass(frozen=True)
class OptionSpec:
    """One option the generator offers for a model: a choice list, or a number when `number` is set. Blank
    means the provider's default and is not sent."""

    name: str
    label: str
    choices: tuple[tuple[str, str], ...] = ()
    blank_label: str = ""
    help_text: str = ""
    number: type[int] | type[float] | None = None
    min_value: float | None = None
    max_value: float | None = None
    step: str = ""


@dataclass(frozen=True)
class ModelOptions:
    """What a provider's model takes beyond model, size and quality: the generator form and the cost estimate
    read this and nothing else of the provider's internals."""

    style: OptionSpec | None = None  # GenerationRequest.style
    advanced: tuple[OptionSpec, ...] = ()  # GenerationRequest.options
    max_references: int = 0  # reference images one request can take


class Provider:
    """An image provider. Subclasses set the class attributes and implement `_generate`."""

    name: ClassVar[str]
    label: ClassVar[str]
    key_setting: ClassVar[str] = ""
    model_setting: ClassVar[str] = ""
    # The provider's own timeout setting; PROVIDER_TIMEOUT when blank or not set.
    timeout_setting: ClassVar[str] = ""
    default_model_fallback: ClassVar[str] = ""
    # Choices for the UI: (value, label).
    models: ClassVar[Sequence[tuple[str, str]]] = ()
    sizes: ClassVar[Sequence[tuple[str, str]]] = ()
    qualities: ClassVar[Sequence[tuple[str, str]]] = ()
    styles: ClassVar[Sequence[tuple[str, str]]] = ()
    default_prompt_limit: ClassVar[int] = 4000
    prompt_limits: ClassVar[Mapping[str, int]] = {}
    retries: ClassVar[bool] = True

    def __init__(self) -> None:
        timeout = setting("PROVIDER_TIMEOUT", DEFAULT_TIMEOUT)
        self.timeout = float(setting(self.timeout_setting, timeout) if self.timeout_setting else timeout)
        self.max_attempts = int(setting("PROVIDER_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)) if self.retries else 1
        self.base_delay = float(setting("PROVIDER_RETRY_BASE_DELAY", DEFAULT_RETRY_BASE_DELAY))
        self.max_delay = float(setting("PROVIDER_RETRY_MAX_DELAY", DEFAULT_RETRY_MAX_DELAY))
        # Replaceable so tests and benchmarks can retry without waiting.
        self.sleep: Callable[[float], Any] = time.sleep

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    @property
    def default_model(self) -> str:
        return setting(self.model_setting, self.default_model_fallback) if self.model_setting else ""

    @property
    def api_key(self) -> str:
        return setting(self.key_setting, "") if self.key_setting else ""

    def is_configured(self) -> bool:
        return bool(self.api_key)

    def prompt_limit(self, model: str = "") -> int:
        model = model or self.default_model
        for prefix, limit in self.prompt_limits.items():
            if model.startswith(prefix):
                return limit
        return self.default_prompt_limit

    def retirement_message(self, model: str = "") -> str:
        """ "dall-e-3 was retired on 2026-05-12; use gpt-image-2." for a retired model, else ""."""
        return catalog.retirement_message(self.name, model or self.default_model)

    def qualities_for(self, model: str) -> list[tuple[str, str]]:
        """The quality choices `model` takes, as (value, label)."""
        return list(self.qualities)

    def model_choices(self) -> list[tuple[str, str]]:
        """`models` less those retired since (a shutdown date the provider's model list announced)."""
        return [(value, label) for value, label in self.models if not self.retirement_message(value)]

    def generate(self, request: GenerationRequest) -> GenerationResult:
        model = request.model or self.default_model
        if retired := self.retirement_message(model):
            # Before the key check and any request: a retired model fails the same way everywhere.
            raise self.error(ErrorKind.MODEL_UNAVAILABLE, retired, model=model, message=retired)
        if not self.is_configured():
            raise self.error(ErrorKind.AUTH, MISSING_KEY, model=model)
        limit = self.prompt_limit(model)
        if len(request.prompt) > limit:
            from studio.characters.prompts import PromptTooLongError

            # The provider cannot tell a character's prompt from a typed one.
            error = PromptTooLongError(len(request.prompt), limit, self.label, PromptTooLongError.ANY_ADVICE)
            reason = str(error)
            raise self.error(ErrorKind.INVALID_REQUEST, reason, model=model, message=reason)
        if not 1 <= request.count <= 10:
            raise self.error(
                ErrorKind.INVALID_REQUEST, "the number of images must be between 1 and 10", model=model
            )
        return self._generate(request, model)

    def _generate(self, request: GenerationRequest, model: str) -> GenerationResult:
        raise NotImplementedError

    def model_options(self, model: str) -> ModelOptions:
        """The style and advanced options `model` (or the default model) takes; none by default."""
        return ModelOptions()

    # Called before every attempt of a paid call (the worker renews its job's lease there); it may raise to
    # stop before the call is sent.
    before_attempt: Callable[[], Any] | None = None

    def with_retries(self, fn: Callable[[], T]) -> T:
        """Run one paid call, retrying only what is safe to repeat."""
        hook = self.before_attempt

        def attempt() -> T:
            if hook is not None:
                hook()
            return fn()

        return call_with_retries(
            attempt,
            max_attempts=self.max_attempts,
            base_delay=self.base_delay,
            max_delay=self.max_delay,
            sleep=self.sleep,
        )

    def error(
        self,
        kind: ErrorKind,
        detail: str = "",
        *,
        model: str = "",
        retry_after: float | None = None,
        status: int | None = None,
        maybe_billed: bool = False,
        message: str = "",
    ) -> ProviderError:
        model = model or self.default_model
        return ProviderError(
            kind,
            message
            or user_message(
                kind,
                provider_label=self.label,
                model=model,
                key_setting=self.key_setting,
                model_setting=self.model_setting,
                detail=detail,
                retry_after=retry_after,
                maybe_billed=maybe_billed,
            ),
            retry_after,
            detail=detail,
            provider=self.name,
            model=model,
            status=status,
            maybe_billed=maybe_billed,
        )

    def estimate_cost(self, model: str, quality: str, size: str, count: int = 1) -> Decimal:

        return estimate_cost(self.name, model or self.default_model, quality, size, count)
