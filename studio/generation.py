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
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.utils import timezone

from . import prompts
from .models import Batch, Character, Portrait, UnreadableImageError, start_of_today
from .providers import UnknownProviderError, get_provider
from .providers.base import ErrorKind, GenerationRequest, GenerationResult, Provider, ProviderError

logger = logging.getLogger(__name__)

INTERNAL_ERROR_MESSAGE = (
    "Something went wrong in the studio while painting this portrait. "
    "Try again; if it keeps happening, tell the studio admin."
)
QUEUE_UNAVAILABLE_MESSAGE = (
    "The studio's queue is unavailable, so this portrait was not sent to be painted (nothing was billed). "
    "Press Retry in a minute; if it keeps happening, tell the studio admin."
)


class GenerationInputError(ValueError):
    """A choice the provider cannot take (unknown provider or model); the message is for users."""


class QuotaExceededError(Exception):
    """Queueing would pass the user's daily image or spend limit; the message is for users."""


class RetryRefusedError(Exception):
    """The failed job cannot succeed by running it again as it is; the message is for users."""


class LeaseLostError(Exception):
    """The worker's claim on its job was recovered or retried while it waited between attempts."""


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
) -> list[Portrait]:
    """Check every prompt and the daily limits, then record the jobs (in a Batch when more than one, or
    when batch_kind says so) and hand them to the worker. Nothing is queued unless everything passes."""
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
        batch = None
        if batch_kind or len(specs) > 1:
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
        _assign_task_ids(jobs)
        portraits = Portrait.objects.bulk_create(jobs)
        _enqueue_all(portraits)
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
    return queue_jobs(character.owner, specs, options or JobOptions(), character=character)


def queue_character_portrait(
    character: Character,
    *,
    provider: str | None = None,
    model: str | None = None,
    seed: int | None = None,
    size: str | None = None,
) -> Portrait:
    """One queued portrait of the character as it is now."""
    options = JobOptions(provider=provider or "", model=model or "", size=size or "")
    return queue_character_portraits(character, options, seed=seed)[0]


def _tasks_share_the_database() -> bool:
    from django_tasks_db.backend import DatabaseBackend

    from .tasks import generate_portrait

    return isinstance(generate_portrait.get_backend(), DatabaseBackend)


def _assign_task_ids(portraits: list[Portrait]) -> None:
    """Choose the database backend's task ids up front, so a batch's portraits are inserted with them."""
    if _tasks_share_the_database():
        for portrait in portraits:
            portrait.task_id = str(uuid.uuid4())


def _enqueue_all(portraits: list[Portrait]) -> None:
    """Hand saved jobs (task ids from _assign_task_ids) to the worker.

    With the database backend the task rows are written in the caller's transaction: they commit (or roll
    back) with the portraits, in one commit and one INSERT for the whole batch, where enqueue() after the
    commit cost an INSERT, an UPDATE and two commits per job (~1 s for 100 jobs on PostgreSQL under load).
    Any other backend (RQ) hands the job to a worker at once, so it is sent only after the commit.
    """
    if not _tasks_share_the_database():
        for portrait in portraits:
            _enqueue_after_commit(portrait)
        return
    from django_tasks.signals import task_enqueued
    from django_tasks_db.models import DBTaskResult, get_date_max

    from .tasks import generate_portrait

    # The rows DatabaseBackend.enqueue() would create one by one.
    backend = generate_portrait.get_backend()
    backend.validate_task(generate_portrait)
    rows = DBTaskResult.objects.bulk_create(
        [
            DBTaskResult(
                id=uuid.UUID(portrait.task_id),
                args_kwargs={"args": [portrait.pk], "kwargs": {}},
                priority=generate_portrait.priority,
                task_path=generate_portrait.module_path,
                queue_name=generate_portrait.queue_name,
                run_after=generate_portrait.run_after or get_date_max(),
                backend_name=backend.alias,
            )
            for portrait in portraits
        ],
        batch_size=500,
    )
    for row in rows:
        task_enqueued.send(type(backend), task_result=row.task_result)


def _enqueue(portrait: Portrait) -> None:
    """Queue one saved job again (retry, recovery) under a new task."""
    _assign_task_ids([portrait])
    if portrait.task_id:
        Portrait.objects.filter(pk=portrait.pk).update(task_id=portrait.task_id)
    _enqueue_all([portrait])


def _enqueue_after_commit(portrait: Portrait) -> None:
    from .tasks import generate_portrait

    def send() -> None:
        try:
            result = generate_portrait.enqueue(portrait.pk)
        except Exception:
            # Redis down or refusing: the request must not fail (the jobs are already committed), and a job
            # no worker will ever see must not wait for ever or count towards the limits.
            logger.exception("generation.enqueue_failed", extra=_fields(portrait))
            portrait.mark_not_queued(QUEUE_UNAVAILABLE_MESSAGE)
            return
        Portrait.objects.filter(pk=portrait.pk).update(task_id=str(result.id))

    transaction.on_commit(send)


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
        _enqueue(portrait)


def cancel_batch(batch: Batch) -> int:
    """Cancel the batch's jobs that no worker has started; returns how many."""
    return Portrait.objects.filter(batch=batch, status=Portrait.Status.QUEUED).update(
        status=Portrait.Status.CANCELLED, finished_at=timezone.now()
    )


# Running.


def run_portrait_job(portrait_id: int) -> str:
    """Run one queued portrait job; returns its final status. Never raises for provider failures."""
    claimed = Portrait.claim(portrait_id)
    if claimed is None:  # cancelled, deleted, or already taken by another worker
        return "skipped"
    portrait, claim = claimed
    logger.info("generation.started", extra=_fields(portrait))
    started = time.monotonic()

    def fail(kind: str, message: str, **log: Any) -> str:
        """Record the failed attempt under the claim and log it (never the prompt or the image)."""
        portrait.mark_failed(kind, message, claim=claim)
        extra = {**_fields(portrait), "duration_ms": _elapsed_ms(started), "error_kind": kind, **log}
        if kind == "internal":
            logger.exception("generation.failed", extra=extra)
        else:
            logger.warning("generation.failed", extra=extra)
        return portrait.status

    try:
        backend = get_provider(portrait.provider)
        backend.before_attempt = _lease_renewer(portrait, claim)
        result = backend.generate(_request_for(portrait))
        image = result.images[0]
    except ProviderError as error:
        # The provider's own words, short; keys in them are redacted by studio.logging.
        detail = (error.detail or "")[:300]
        return fail(error.kind.value, error.message, http_status=error.status, detail=detail)
    except UnknownProviderError as error:
        return fail("model_unavailable", str(error))
    except LeaseLostError:
        # Recovered (or retried) while waiting to try again: whoever holds the job now decides; no further
        # request is sent under this claim.
        logger.warning("generation.abandoned", extra={**_fields(portrait), "reason": "lease lost"})
        return "abandoned"
    except Exception:
        return fail("internal", INTERNAL_ERROR_MESSAGE)
    try:
        stored = portrait.store_image(
            image.data,
            metadata=png_metadata(portrait, image.revised_prompt),
            claim=claim,
            result_parameters=result_parameters(result),
        )
    except UnreadableImageError as error:
        # The bytes passed the provider's format sniff but do not decode (truncated, corrupt): the
        # provider's own words for an unreadable response.
        kind = ErrorKind.MALFORMED
        return fail(kind.value, backend.error(kind, str(error)).message, detail=str(error)[:300])
    except Exception:
        return fail("internal", INTERNAL_ERROR_MESSAGE)
    if not stored:
        logger.warning(
            "generation.discarded", extra={**_fields(portrait), "reason": "another attempt owns it"}
        )
        return "discarded"
    logger.info(
        "generation.succeeded",
        extra={**_fields(portrait), "duration_ms": _elapsed_ms(started), "bytes": len(image.data)},
    )
    return portrait.status


def _lease_renewer(portrait: Portrait, claim: str) -> Callable[[], None]:
    """The provider's before_attempt hook: before every attempt but the first (the claim has just set a full
    lease), extend the lease under the claim, or stop when the claim was lost meanwhile."""
    attempts = 0

    def renew() -> None:
        nonlocal attempts
        attempts += 1
        if attempts > 1 and not portrait.renew_lease(claim):
            raise LeaseLostError(portrait.pk)

    return renew


def result_parameters(result: GenerationResult) -> dict[str, Any]:
    """What the provider reported beyond the image, kept in Portrait.parameters: its revised prompt, the
    parameters it was actually sent, its usage and cost figures."""
    reported: dict[str, Any] = {}
    if revised := result.images[0].revised_prompt:
        reported["revised_prompt"] = revised
    if result.parameters:
        reported["sent"] = result.parameters
    if result.usage:
        reported["usage"] = result.usage
    if result.estimated_cost:
        reported["provider_cost"] = str(result.estimated_cost)
    return reported


def _fields(portrait: Portrait) -> dict[str, Any]:
    """What a generation event says: never the prompt, the image, a key or the provider's raw answer."""
    return {
        "portrait_id": portrait.pk,
        "character_id": portrait.character_id,
        "owner_id": portrait.owner_id,
        "provider": portrait.provider,
        "model": portrait.model,
        "attempt": portrait.attempts,
    }


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _request_for(portrait: Portrait) -> GenerationRequest:
    return GenerationRequest(
        prompt=portrait.prompt,
        negative_prompt=portrait.negative_prompt,
        size=portrait.parameters.get("size", ""),
        quality=portrait.parameters.get("quality", ""),
        style=portrait.parameters.get("style", ""),
        seed=portrait.seed,
        model=portrait.model,
        options=portrait.parameters.get("options") or {},
        attributes=portrait.parameters.get("attributes") or None,
    )


def png_metadata(portrait: Portrait, revised_prompt: str | None = None) -> dict[str, Any]:
    """What a portrait PNG carries in its text chunks; Remix reads it back (models.read_png_metadata)."""
    metadata = {
        "prompt": portrait.prompt,
        "negative_prompt": portrait.negative_prompt,
        "provider": portrait.provider,
        "model": portrait.model,
        "seed": portrait.seed,
        # Written as the image's real pixel size (encode_portrait_files), not the size or ratio asked for.
        "size": portrait.parameters.get("size", ""),
        "quality": portrait.parameters.get("quality", ""),
        "style": portrait.parameters.get("style", ""),
        "character": _character_name(portrait),
        "character_version": portrait.character_version or "",
    }
    if revised_prompt:
        metadata["revised_prompt"] = revised_prompt
    return metadata


def _character_name(portrait: Portrait) -> str:
    if not portrait.character_id:
        return ""
    if Portrait.character.is_cached(portrait):
        return portrait.character.name
    # Only the name: a full Character row (every vocabulary field) is not needed to label a PNG.
    return Character.objects.filter(pk=portrait.character_id).values_list("name", flat=True).first() or ""


# Recovery of jobs whose worker died.


@dataclass
class Recovery:
    requeued: list[int] = field(default_factory=list)
    interrupted: list[int] = field(default_factory=list)


def is_free(provider: str) -> bool:
    """Jobs that cost nothing can be re-run without asking: the local painter."""
    return provider == "local"


def recover_expired_jobs(now: Any = None) -> Recovery:
    """Pick up jobs whose worker vanished: RUNNING past their lease. See the billing policy above."""
    now = now or timezone.now()
    recovery = Recovery()
    expired = Portrait.objects.filter(status=Portrait.Status.RUNNING, lease_expires_at__lt=now)
    for portrait in expired.only("pk", "provider", "model", "claim_token", "attempts", "history", "task_id"):
        still_expired = Portrait.objects.filter(
            pk=portrait.pk,
            status=Portrait.Status.RUNNING,
            claim_token=portrait.claim_token,
            lease_expires_at__lt=now,
        )
        history = [
            *portrait.history,
            {"attempt": portrait.attempts, "outcome": "lease expired", "at": now.isoformat()},
        ]
        free = is_free(portrait.provider)
        # One transaction: a requeued job always has a task to run it, and the dead worker's task row is
        # closed only when the job really was recovered.
        with transaction.atomic():
            if free:
                recovered = still_expired.update(
                    status=Portrait.Status.QUEUED,
                    claim_token="",
                    lease_expires_at=None,
                    started_at=None,
                    history=history,
                )
            else:
                recovered = still_expired.update(
                    status=Portrait.Status.FAILED,
                    error_kind=Portrait.INTERRUPTED,
                    error_message=interrupted_message(portrait.provider),
                    finished_at=now,
                    lease_expires_at=None,
                    history=history,
                )
            if recovered:
                _close_lost_task_row(portrait.task_id, now)
                if free:
                    _enqueue(portrait)
        if recovered:
            (recovery.requeued if free else recovery.interrupted).append(portrait.pk)
    if recovery.requeued or recovery.interrupted:
        logger.warning(
            "generation.recovered",
            extra={"requeued_ids": recovery.requeued, "interrupted_ids": recovery.interrupted},
        )
    return recovery


LOST_TASK_MESSAGE = "The worker running this task stopped; the portrait job was recovered (see its history)."


def _close_lost_task_row(task_id: str, now: Any) -> None:
    """Mark the dead worker's task row failed, so the task list never shows it running for ever."""
    if not task_id or not _tasks_share_the_database():
        return
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(pk=task_id, status="RUNNING").update(
        status="FAILED",
        finished_at=now,
        exception_class_path="studio.generation.WorkerLost",
        traceback=LOST_TASK_MESSAGE,
    )


def interrupted_message(provider: str) -> str:
    try:
        label = get_provider(provider).label
    except UnknownProviderError:
        label = "The image provider"
    return (
        f"The studio's worker stopped while {label} was painting this portrait. The request may already "
        "have been billed, so it was not sent again automatically. Press Retry to send it again."
    )


_last_sweep = 0.0
_sweep_lock = threading.Lock()


def maybe_recover_expired_jobs() -> Recovery | None:
    """recover_expired_jobs at most once per PORTRAIT_RECOVERY_INTERVAL seconds in this process."""
    global _last_sweep
    with _sweep_lock:
        now = time.monotonic()
        if now - _last_sweep < settings.PORTRAIT_RECOVERY_INTERVAL:
            return None
        _last_sweep = now
    return recover_expired_jobs()
