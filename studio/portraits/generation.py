"""Portrait generation workflow: queue jobs (with cost control), run them in the worker, recover lost ones.

Billing policy, in one place:
- A job is claimed with a token and a lease (Portrait.mark_running); only the holder of the claim may store
  the image, so a job never gets two images however many workers touched it. The worker renews the lease
  before every retry of a paid call (Portrait.renew_lease) and sends nothing more once its claim is lost.
- A worker that dies mid-job leaves its job RUNNING until the lease expires. recover_expired_jobs() then
  puts jobs for a free provider (the local painter) back in the queue, and marks jobs for a paid provider
  failed as "interrupted": the request may already have been billed, so it is never sent again without the
  user pressing Retry. A late answer from the lost attempt is still kept (store_image accepts it).
- Providers retry only errors that are safe to repeat (see providers.base.call_with_retries); a failure that
  may have been billed fails the job with its message instead.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from studio.characters import prompts
from studio.characters.models import Character
from studio.portraits.models import Batch, Portrait
from studio.portraits.providers import UnknownProviderError, get_provider
from studio.portraits.providers.base import (
    Provider,
)
from studio.portraits.references import chosen_references, reference_records
from studio.portraits.spending import (  # noqa: F401 - re-exported
    Usage,
    daily_limits,
    studio_spend_today,
    usage_today,
)
from studio.portraits.tasks import assign_task_ids, enqueue, enqueue_all

logger = logging.getLogger("studio.generation")
Fallback = User.BudgetFallback


class GenerationInputError(ValueError):
    """A choice the provider cannot take (unknown provider or model); the message is for users."""


class QuotaExceededError(Exception):
    """Queueing would pass the user's daily image or spend limit; the message is for users. `limit` says
    which: "images" or "spend"."""

    def __init__(self, message: str, *, limit: str = "") -> None:
        super().__init__(message)
        self.limit = limit


class RetryRefusedError(Exception):
    """The failed job cannot succeed by running it again as it is; the message is for users."""


def new_seed() -> int:
    return random.randint(0, 2**31 - 1)


# What to queue.


@dataclass(frozen=True)
class JobOptions:
    """Provider choices shared by every job of one click; blanks mean the provider's defaults."""

    provider: str = ""
    model: str = ""
    size: str = ""
    quality: str = ""
    style: str = ""
    # Provider-specific GenerationRequest.options (background, num_inference_steps, ...); forms check them.
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JobSpec:
    prompt: str
    negative_prompt: str = ""
    seed: int | None = None
    attributes: dict[str, Any] | None = None
    # A character sheet's view or expression ({"view": "profile"}); the painter reads it as options.
    shot: dict[str, str] | None = None


@dataclass(frozen=True)
class ResolvedOptions:
    backend: Provider
    model: str
    size: str
    quality: str
    style: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def unit_cost(self) -> Decimal:
        return self.backend.estimate_cost(self.model, self.quality, self.size, 1)

    def estimate(self, count: int) -> Decimal:
        return self.backend.estimate_cost(self.model, self.quality, self.size, count)


def resolve_options(options: JobOptions) -> ResolvedOptions:
    """Fill in defaults and check the choices against the provider; raises GenerationInputError."""
    try:
        backend = get_provider(options.provider or settings.DEFAULT_IMAGE_PROVIDER)
    except UnknownProviderError as error:
        raise GenerationInputError(str(error)) from None
    if not backend.is_configured():
        raise GenerationInputError(
            f"{backend.label} is not set up on this studio (no API key). Choose another provider."
        )
    model = options.model or backend.default_model
    if retired := backend.retirement_message(model):
        raise GenerationInputError(retired)
    allowed_models = {value for value, _ in backend.model_choices()} | {backend.default_model}
    if model not in allowed_models:
        raise GenerationInputError(f'{backend.label} has no model called "{model}".')
    # Sizes and qualities are offered as choices by the forms; each provider maps what it is given.
    size = options.size or default_size(backend)
    chosen = {name: value for name, value in options.options.items() if value not in (None, "")}
    return ResolvedOptions(backend, model, size, options.quality, options.style, chosen)


# The local painter paints any size whose sides lie in this range (it clamps the others); the other
# providers take only the sizes they list.
LOCAL_SIDES = (64, 2048)


def check_size(backend: Provider, size: str) -> None:
    """Refuse a typed size (the CLI's --size) the provider would not paint as asked; GenerationInputError."""
    offered = ", ".join(value for value, _ in backend.sizes)
    match = re.fullmatch(r"([0-9]{1,5})x([0-9]{1,5})", size.strip())
    if match is None:
        raise GenerationInputError(f"“{size}” is not a size: write WIDTHxHEIGHT, one of {offered}.")
    if backend.name == "local":
        low, high = LOCAL_SIDES
        if not all(low <= int(side) <= high for side in match.groups()):
            raise GenerationInputError(
                f"{backend.label} paints sides of {low} to {high} pixels, not {size}; for example {offered}."
            )
    elif size not in {value for value, _ in backend.sizes}:
        raise GenerationInputError(f"{backend.label} does not offer {size}; choose one of {offered}.")


def default_size(backend: Provider) -> str:
    if backend.name == "local" or not backend.sizes:
        return f"{settings.PORTRAIT_SIZE}x{settings.PORTRAIT_SIZE}"
    return backend.sizes[0][0]


# Cost control.


def studio_spend_limit() -> Decimal:
    return Decimal(str(settings.STUDIO_DAILY_SPEND_LIMIT))


# Any constant: the PostgreSQL advisory lock that serialises the studio-wide spend check.
STUDIO_SPEND_LOCK = 0x0DA1_5BE0


def _lock_studio_spend() -> None:
    """Serialise studio-wide spend checks: a transaction-scoped advisory lock on PostgreSQL (taken after the
    owner's row lock, always in that order); SQLite's IMMEDIATE transactions already serialise writers."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [STUDIO_SPEND_LOCK])


def is_paid(backend: Provider) -> bool:
    """A provider that bills the studio's API key (the local painter and patterns cost nothing)."""
    return bool(backend.key_setting)


def check_may_use(owner: Any, backend: Provider) -> None:
    """Paid providers are for verified email addresses, unless signing in already needs one."""
    if not is_paid(backend) or settings.ACCOUNT_EMAIL_VERIFICATION == "mandatory":
        return
    from allauth.account.models import EmailAddress

    if not EmailAddress.objects.filter(user_id=owner.pk, verified=True).exists():
        raise GenerationInputError(
            f"{backend.label} is a paid provider: verify your email address first (the link we sent, or "
            "Email addresses in your account menu), or choose the local painter, which is free."
        )


def _lock_owner(owner: Any) -> None:
    """Serialise quota checks per user: a row lock on PostgreSQL; SQLite's IMMEDIATE transactions already
    serialise every writer."""
    list(get_user_model().objects.select_for_update().filter(pk=owner.pk).values_list("pk"))


def check_quota(owner: Any, images: int, spend: Decimal, *, retry: bool = False) -> None:
    """Raise QuotaExceededError when queueing would pass a daily limit. Call inside the transaction that
    creates the jobs, after _lock_owner, so two tabs cannot both pass the check."""
    image_limit, spend_limit = daily_limits()
    used = usage_today(owner)
    what = "A retry counts as a new image, and it" if retry else "That"
    if image_limit and used.images + images > image_limit:
        left = max(image_limit - used.images, 0)
        advice = "Try again tomorrow." if retry else "Choose fewer images or come back tomorrow."
        raise QuotaExceededError(
            f"{what} would pass your daily limit of {image_limit} images: {used.images} queued today, "
            f"{left} left, and this needs {images}. {advice}",
            limit="images",
        )
    if spend_limit and used.spend + spend > spend_limit:
        left = max(spend_limit - used.spend, Decimal("0"))
        advice = (
            "Try again tomorrow."
            if retry
            else "Choose fewer images, a cheaper model or quality, or come back tomorrow."
        )
        raise QuotaExceededError(
            f"{what} would pass your daily spending limit of ${spend_limit:.2f}: ${used.spend:.2f} spent or "
            f"estimated today, ${left:.2f} left, and this is estimated at ${spend:.2f}. {advice}",
            limit="spend",
        )
    studio_limit = studio_spend_limit()
    if studio_limit and spend > 0:
        _lock_studio_spend()
        spent = studio_spend_today()
        if spent + spend > studio_limit:
            raise QuotaExceededError(
                f"{what} would pass the studio's daily spending limit of ${studio_limit:.2f} for all users "
                f"together (${spent:.2f} estimated today). Use the local painter, which is free, or try "
                "again tomorrow."
            )


@contextmanager
def daily_images(owner: Any, images: int) -> Iterator[None]:
    """Make `images` images at once, outside the queue (patterns, style-model artworks), within the user's
    daily image limit: the caller saves them inside, in the transaction that holds the owner's lock."""
    with transaction.atomic():
        _lock_owner(owner)
        check_quota(owner, images, Decimal("0"))
        yield


def within_budget(owner: Any, resolved: ResolvedOptions, count: int) -> tuple[ResolvedOptions, str]:
    """The options to queue `count` jobs with, and a notice for the user when they are not the ones asked
    for. Call after _lock_owner, in the transaction that creates the jobs, like check_quota.

    When the jobs would pass the daily spend limit, the owner's budget_fallback decides: stop (raise
    QuotaExceededError), the dearest cheaper quality of the same model and size that fits what is left
    (stop when none does), or the offline painter (free; the image limit still applies)."""
    try:
        check_quota(owner, count, resolved.estimate(count))
        return resolved, ""
    except QuotaExceededError as error:
        mode = getattr(owner, "budget_fallback", Fallback.STOP)
        if error.limit != "spend" or mode not in (Fallback.CHEAPER, Fallback.PAINTER):
            raise
        _, spend_limit = daily_limits()
        them = "them" if count != 1 else "it"
        passing = f"{_portraits(count)} would pass your ${spend_limit:.2f} daily spending limit"
        if mode == Fallback.CHEAPER:
            cheaper = _cheaper_quality(owner, resolved, count, spend_limit)
            if cheaper is None:
                raise QuotaExceededError(
                    f"{error} {resolved.backend.label} {resolved.model} has no cheaper quality that fits.",
                    limit="spend",
                ) from None
            total = cheaper.estimate(count)
            return cheaper, f"{passing}; made {them} with {cheaper.quality} quality (${total:.2f}) instead."
        painter = resolve_options(JobOptions(provider="local"))
        check_quota(owner, count, painter.estimate(count))
        return painter, f"{passing}; made {them} with the offline painter (free) instead."


def _cheaper_quality(
    owner: Any, resolved: ResolvedOptions, count: int, spend_limit: Decimal
) -> ResolvedOptions | None:
    left = spend_limit - usage_today(owner).spend
    asked = resolved.estimate(count)
    fits = [
        (cost, quality)
        for quality, _label in resolved.backend.qualities_for(resolved.model)
        if (cost := resolved.backend.estimate_cost(resolved.model, quality, resolved.size, count)) < asked
        and cost <= left
    ]
    if not fits:
        return None
    return replace(resolved, quality=max(fits)[1])


def _portraits(count: int) -> str:
    return f"{count} portrait{'s' if count != 1 else ''}"


# Queueing.


def queue_jobs(
    owner: Any,
    specs: list[JobSpec],
    options: JobOptions,
    *,
    character: Character | None = None,
    batch_kind: str | None = None,
    references: list[dict[str, Any]] | None = None,
    batch: Batch | None = None,
) -> QueuedJobs:
    """Check every prompt and the daily limits, then record the jobs (in `batch`, or in a new Batch when more
    than one, or when batch_kind says so) and hand them to the worker. Nothing is queued unless everything
    passes; the owner's budget fallback may queue them with cheaper options instead (see within_budget).

    Each job records the references it is made from: `references` (a Remix keeps its portrait's), else
    the character's set as far as the model takes them (references.chosen_references)."""
    if not specs:
        raise GenerationInputError("There is nothing to generate.")
    resolved = resolve_options(options)
    backend = resolved.backend
    check_may_use(owner, backend)
    limit = backend.prompt_limit(resolved.model)
    for spec in specs:
        prompts.check_length(prompts.Prompt(spec.prompt, spec.negative_prompt), limit, where=backend.label)
    with transaction.atomic():
        _lock_owner(owner)
        resolved, budget_notice = within_budget(owner, resolved, len(specs))
        backend, unit_cost, parameters = resolved.backend, resolved.unit_cost, _job_parameters(resolved)
        # After the fallback: the provider it settled on decides how many references it takes.
        max_references = backend.model_options(resolved.model).max_references
        if references is None:
            references = reference_records(chosen_references(character, max_references))
        else:
            references = references[:max_references]
        if batch is None and (batch_kind or len(specs) > 1):
            kind = batch_kind or (Batch.Kind.CHARACTER if character else Batch.Kind.QUICK)
            batch = Batch.objects.create(owner=owner, character=character, kind=kind)
        now = timezone.now()
        jobs = [
            Portrait(
                owner=owner,
                character=character,
                character_version=character.version if character else None,
                batch=batch,
                prompt=spec.prompt,
                negative_prompt=spec.negative_prompt,
                provider=backend.name,
                model=resolved.model,
                seed=new_seed() if spec.seed is None else spec.seed,
                parameters=parameters
                | ({"attributes": spec.attributes} if spec.attributes else {})
                | ({"shot": spec.shot} if spec.shot else {}),
                references=references,
                estimated_cost=unit_cost,
                created_at=now,
                queued_at=now,
            )
            for spec in specs
        ]
        for job in jobs:
            # bulk_create skips Portrait.save, which keeps the Community gallery's flag.
            job.is_public = job.compute_is_public()
        assign_task_ids(jobs)
        portraits = Portrait.objects.bulk_create(jobs)
        enqueue_all(portraits)
    logger.info(
        "generation.queued",
        extra={
            "jobs": len(portraits),
            "portrait_ids": [portrait.pk for portrait in portraits],
            "batch_id": batch.pk if batch else None,
            "character_id": character.pk if character else None,
            "owner_id": owner.pk,
            "provider": backend.name,
            "model": resolved.model,
        },
    )
    return QueuedJobs(portraits, budget_notice)


class QueuedJobs(list[Portrait]):
    """The jobs queue_jobs made, with `budget_notice`: what the budget fallback changed, for the user."""

    def __init__(self, portraits: list[Portrait], budget_notice: str = "") -> None:
        super().__init__(portraits)
        self.budget_notice = budget_notice


def _job_parameters(resolved: ResolvedOptions) -> dict[str, Any]:
    parameters: dict[str, Any] = {"size": resolved.size}
    if resolved.quality:
        parameters["quality"] = resolved.quality
    if resolved.style:
        parameters["style"] = resolved.style
    if resolved.options:
        parameters["options"] = resolved.options
    return parameters


def queue_character_portraits(
    character: Character,
    options: JobOptions | None = None,
    *,
    count: int = 1,
    seed: int | None = None,
    negative_prompt: str | None = None,
    batch: Batch | None = None,
) -> list[Portrait]:
    """`count` variations of the character as it is now (seeds seed, seed+1, ... or random)."""
    if not 1 <= count <= settings.BATCH_MAX_IMAGES:
        raise GenerationInputError(f"Choose between 1 and {settings.BATCH_MAX_IMAGES} images.")
    prompt = prompts.character_prompt(character)
    negative = prompt.negative if negative_prompt is None else " ".join(negative_prompt.split())
    attributes = painter_values(character)
    specs = [
        JobSpec(prompt.text, negative, None if seed is None else seed + index, attributes)
        for index in range(count)
    ]
    return queue_jobs(character.owner, specs, options or JobOptions(), character=character, batch=batch)


def painter_values(character: Character) -> dict[str, Any]:
    """The character's vocabulary values and its name (its id when it has none), for the offline painter:
    the name makes its face, so two characters alike in every attribute still look like two people."""
    return {**character.attribute_values(), "name": character.name.strip() or f"character {character.pk}"}


# A character sheet: four views and three expressions of the character as it is now, one batch.
SHEET_SHOTS: tuple[tuple[str, str, str], ...] = (
    ("view", "front", "front view, facing the viewer"),
    ("view", "three_quarter", "three-quarter view"),
    ("view", "profile", "side profile view"),
    ("view", "back", "seen from behind"),
    ("expression", "neutral", "neutral expression"),
    ("expression", "smiling", "smiling"),
    ("expression", "angry", "angry expression"),
)


def sheet_shot(kind: str, value: str) -> dict[str, str]:
    """What one picture of a sheet asks the painter for: the views all wear a neutral face, as on a model
    sheet (left to the seed, a profile could be laughing)."""
    return {"view": value, "expression": "neutral"} if kind == "view" else {kind: value}


def queue_character_sheet(character: Character, options: JobOptions | None = None) -> list[Portrait]:
    """One batch of a character sheet: each shot a normal portrait (the painter reads the view or the
    expression; other providers get it in the prompt)."""
    prompt = prompts.character_prompt(character)
    attributes = painter_values(character)
    seed = new_seed()
    specs = [
        JobSpec(
            f"{prompt.text} Character sheet: {words}.",
            prompt.negative,
            seed,
            attributes,
            sheet_shot(kind, value),
        )
        for kind, value, words in SHEET_SHOTS
    ]
    return queue_jobs(
        character.owner, specs, options or JobOptions(), character=character, batch_kind=Batch.Kind.SHEET
    )


def queue_character_portrait(
    character: Character,
    *,
    provider: str | None = None,
    model: str | None = None,
    seed: int | None = None,
    size: str | None = None,
    batch: Batch | None = None,
) -> Portrait:
    """One queued portrait of the character as it is now (in `batch`, when given)."""
    options = JobOptions(provider=provider or "", model=model or "", size=size or "")
    return queue_character_portraits(character, options, seed=seed, batch=batch)[0]


def retry_portrait(portrait: Portrait) -> None:
    """Queue a failed job again, as a new attempt on the same record; raises RetryRefusedError or
    QuotaExceededError with a message for the user. Other portraits are never touched."""
    if not portrait.can_retry:
        if portrait.status == Portrait.Status.FAILED:
            raise RetryRefusedError(
                "Trying again would fail the same way. Use Remix to change the prompt or settings."
            )
        raise RetryRefusedError("Only a failed portrait can be tried again.")
    try:
        backend = get_provider(portrait.provider)
    except UnknownProviderError as error:
        raise RetryRefusedError(str(error)) from None
    if not backend.is_configured():
        raise RetryRefusedError(f"{backend.label} is still not set up on this studio (no API key).")
    try:
        check_may_use(portrait.owner, backend)
    except GenerationInputError as error:
        raise RetryRefusedError(str(error)) from None
    with transaction.atomic():
        _lock_owner(portrait.owner)
        # The failed attempt stays counted where it was queued; the new one counts today.
        check_quota(portrait.owner, 1, portrait.estimated_cost, retry=True)
        if not portrait.requeue():
            raise RetryRefusedError("This portrait changed in the meantime; reload the page.")
        enqueue(portrait)


def cancel_batch(batch: Batch) -> int:
    """Cancel the batch's jobs that no worker has started; returns how many."""
    return Portrait.objects.filter(batch=batch, status=Portrait.Status.QUEUED).update(
        status=Portrait.Status.CANCELLED, finished_at=timezone.now()
    )


# A portrait on save (the user's "Paint a portrait when I save a character").


@dataclass(frozen=True)
class PaintOnSave:
    enabled: bool
    chosen: bool  # the user set it (else the default: on for a free provider, off for a paid one)
    provider_label: str
    unit_cost: Decimal


def paint_on_save_terms(user: Any) -> PaintOnSave:
    try:
        resolved = resolve_options(JobOptions())
    except GenerationInputError:
        return PaintOnSave(False, user.paint_on_save is not None, "", Decimal("0"))
    unit = resolved.unit_cost
    chosen = user.paint_on_save is not None
    enabled = bool(user.paint_on_save) if chosen else unit == 0
    return PaintOnSave(enabled, chosen, resolved.backend.label, unit)


def paint_on_save(sender: Any, character: Character, created: bool, **kwargs: Any) -> tuple[int, str] | None:
    """The look_saved receiver: one portrait of the saved look, when the owner asked for it (or the free
    default applies), within the daily caps. Answers (message level, text) for the page."""
    from django.contrib import messages

    if not paint_on_save_terms(character.owner).enabled:
        return None
    try:
        queue_character_portraits(character)
    except (prompts.PromptTooLongError, GenerationInputError, QuotaExceededError) as error:
        return messages.WARNING, f"No portrait was painted on save: {error}"
    return messages.INFO, "A portrait of the new look is queued."
