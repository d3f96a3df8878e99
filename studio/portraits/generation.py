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
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.utils import timezone

from studio.characters import prompts
from studio.characters.models import Character
from studio.portraits.models import Batch, Portrait, start_of_today
from studio.portraits.providers import UnknownProviderError, get_provider
from studio.portraits.providers.base import (
    Provider,
)
from studio.portraits.tasks import assign_task_ids, enqueue, enqueue_all

logger = logging.getLogger("studio.generation")


class GenerationInputError(ValueError):
    """A choice the provider cannot take (unknown provider or model); the message is for users."""


class QuotaExceededError(Exception):
    """Queueing would pass the user's daily image or spend limit; the message is for users."""


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
    allowed_models = {value for value, _ in backend.models} | {backend.default_model}
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


@dataclass(frozen=True)
class Usage:
    images: int
    spend: Decimal


def usage_today(owner: Any) -> Usage:
    """Images and estimated spend the user has queued today: every attempt counts on the day it was queued
    (a Retry is a new attempt), except the ones that made nothing (cancelled, refused, never sent).

    One aggregate over the user's rows queued since midnight (the portrait_owner_queued index): each row
    is its earlier same-day attempts plus its current one, unless that one made nothing."""
    current = models.Case(
        models.When(status=Portrait.Status.CANCELLED, then=models.Value(0)),
        models.When(
            status=Portrait.Status.FAILED,
            error_kind__in=Portrait.NOTHING_MADE_ERRORS,
            then=models.Value(0),
        ),
        default=models.Value(1),
        output_field=models.IntegerField(),
    )
    attempts = models.ExpressionWrapper(
        models.F("same_day_attempts") + current, output_field=models.IntegerField()
    )
    spend = models.ExpressionWrapper(
        attempts * models.F("estimated_cost"),
        output_field=models.DecimalField(max_digits=14, decimal_places=4),
    )
    totals = Portrait.objects.filter(owner=owner, queued_at__gte=start_of_today()).aggregate(
        images=models.Sum(attempts), spend=models.Sum(spend)
    )
    return Usage(totals["images"] or 0, totals["spend"] or Decimal("0"))


def daily_limits() -> tuple[int, Decimal]:
    return settings.DAILY_IMAGE_LIMIT, Decimal(str(settings.DAILY_SPEND_LIMIT_USD))


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
            f"{left} left, and this needs {images}. {advice}"
        )
    if spend_limit and used.spend + spend > spend_limit:
        left = max(spend_limit - used.spend, Decimal("0"))
        advice = (
            "Try again tomorrow."
            if retry
            else "Choose fewer images, a cheaper model or quality, or come back tomorrow."
        )
        raise QuotaExceededError(
            f"{what} would pass your daily spending limit of ${spend_limit:.2f}: ${used.spend:.2f} estimated "
            f"today, ${left:.2f} left, and this is estimated at ${spend:.2f}. {advice}"
        )


# Queueing.


def queue_jobs(
    owner: Any,
    specs: list[JobSpec],
    options: JobOptions,
    *,
    character: Character | None = None,
    batch_kind: str | None = None,
    batch: Batch | None = None,
) -> list[Portrait]:
    """Check every prompt and the daily limits, then record the jobs (in a Batch when more than one, or
    when batch_kind says so, or in the given batch: one run over many characters) and hand them to the
    worker. Nothing is queued unless everything passes."""
    if not specs:
        raise GenerationInputError("There is nothing to generate.")
    resolved = resolve_options(options)
    backend = resolved.backend
    limit = backend.prompt_limit(resolved.model)
    for spec in specs:
        prompts.check_length(prompts.Prompt(spec.prompt, spec.negative_prompt), limit, where=backend.label)
    unit_cost = resolved.unit_cost
    parameters: dict[str, Any] = {"size": resolved.size}
    if resolved.quality:
        parameters["quality"] = resolved.quality
    if resolved.style:
        parameters["style"] = resolved.style
    if resolved.options:
        parameters["options"] = resolved.options
    with transaction.atomic():
        _lock_owner(owner)
        check_quota(owner, len(specs), unit_cost * len(specs))
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
                parameters=parameters | ({"attributes": spec.attributes} if spec.attributes else {}),
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
    return portraits


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
    attributes = character.attribute_values()
    specs = [
        JobSpec(prompt.text, negative, None if seed is None else seed + index, attributes)
        for index in range(count)
    ]
    return queue_jobs(character.owner, specs, options or JobOptions(), character=character, batch=batch)


def queue_character_portrait(
    character: Character,
    *,
    provider: str | None = None,
    model: str | None = None,
    seed: int | None = None,
    size: str | None = None,
    batch: Batch | None = None,
) -> Portrait:
    """One queued portrait of the character as it is now (in the given batch, if any)."""
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
