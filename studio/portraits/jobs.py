"""Running one portrait job in the worker; the billing policy is in generation.py's docstring."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from studio.characters.models import Character
from studio.portraits.files import UnreadableImageError
from studio.portraits.models import Portrait
from studio.portraits.providers import UnknownProviderError, get_provider
from studio.portraits.providers.base import (
    ErrorKind,
    GenerationRequest,
    GenerationResult,
    ProviderError,
    ReferenceInput,
)
from studio.portraits.providers.pricing import actual_cost
from studio.portraits.references import load_references
from studio.portraits.scheduling import claim_next

logger = logging.getLogger("studio.generation")

INTERNAL_ERROR_MESSAGE = (
    "Something went wrong in the studio while painting this portrait. "
    "Try again; if it keeps happening, tell the studio admin."
)


class LeaseLostError(Exception):
    """The worker's claim on its job was recovered or retried while it waited between attempts."""


def run_portrait_job(portrait_id: int) -> str:
    """Run this queued portrait job now (whatever the queue's order, pauses and limits); returns its final
    status. Never raises for provider failures. Workers run run_next_job instead."""
    claimed = Portrait.claim(portrait_id)
    if claimed is None:  # cancelled, deleted, or already taken by another worker
        return "skipped"
    return run_claimed_job(*claimed)


def run_next_job(task_id: str = "") -> tuple[str, Portrait | None]:
    """A worker's turn: claim the job the fair scheduler chooses (studio.portraits.scheduling) and run it.
    Returns its final status and the job, or ("idle", None) when no job is claimable now."""
    claimed = claim_next(task_id)
    if claimed is None:
        return "idle", None
    return run_claimed_job(*claimed), claimed[0]


def run_claimed_job(portrait: Portrait, claim: str) -> str:
    """Run one job this worker has claimed; returns its final status. Never raises for provider failures."""
    logger.info("generation.started", extra=log_fields(portrait))
    started = time.monotonic()

    def fail(kind: str, message: str, **log: Any) -> str:
        """Record the failed attempt under the claim and log it (never the prompt or the image)."""
        portrait.mark_failed(kind, message, claim=claim)
        extra = {**log_fields(portrait), "duration_ms": _elapsed_ms(started), "error_kind": kind, **log}
        if kind == "internal":
            logger.exception("generation.failed", extra=extra)
        else:
            logger.warning("generation.failed", extra=extra)
        return portrait.status

    try:
        backend = get_provider(portrait.provider)
        backend.before_attempt = _lease_renewer(portrait, claim)
        references, missing = load_references(portrait)
        result = backend.generate(_request_for(portrait, references))
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
        logger.warning("generation.abandoned", extra={**log_fields(portrait), "reason": "lease lost"})
        return "abandoned"
    except Exception:
        return fail("internal", INTERNAL_ERROR_MESSAGE)
    try:
        stored = portrait.store_image(
            image.data,
            metadata=png_metadata(portrait, image.revised_prompt),
            claim=claim,
            result_parameters=result_parameters(result)
            | ({"references_missing": missing} if missing else {}),
            # What the provider reported it used, at the model's rates; None when it reported nothing.
            actual_cost=actual_cost(portrait.provider, result.model or portrait.model, result.usage),
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
            "generation.discarded", extra={**log_fields(portrait), "reason": "another attempt owns it"}
        )
        return "discarded"
    logger.info(
        "generation.succeeded",
        extra={**log_fields(portrait), "duration_ms": _elapsed_ms(started), "bytes": len(image.data)},
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


def log_fields(portrait: Portrait) -> dict[str, Any]:
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


def _request_for(
    portrait: Portrait, references: tuple[ReferenceInput, ...] | None = None
) -> GenerationRequest:
    """The provider request for a stored job, with its references (loaded here when not given)."""
    if references is None:
        references = load_references(portrait)[0]
    options = dict(portrait.parameters.get("options") or {})
    if portrait.provider == "local":
        # A character sheet's view or expression; other providers read it from the prompt.
        options |= portrait.parameters.get("shot") or {}
    return GenerationRequest(
        prompt=portrait.prompt,
        negative_prompt=portrait.negative_prompt,
        size=portrait.parameters.get("size", ""),
        quality=portrait.parameters.get("quality", ""),
        style=portrait.parameters.get("style", ""),
        seed=portrait.seed,
        model=portrait.model,
        options=options,
        attributes=portrait.parameters.get("attributes") or None,
        references=references,
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
    if portrait.references:
        # "role:sha256" per reference, in the order they were sent.
        metadata["references"] = " ".join(
            f"{record.get('role', '')}:{record.get('sha256', '')}" for record in portrait.references
        )
    return metadata


def _character_name(portrait: Portrait) -> str:
    if not portrait.character_id:
        return ""
    if Portrait.character.is_cached(portrait):
        return portrait.character.name
    # Only the name: a full Character row (every vocabulary field) is not needed to label a PNG.
    return Character.objects.filter(pk=portrait.character_id).values_list("name", flat=True).first() or ""


def interrupted_message(provider: str) -> str:
    try:
        label = get_provider(provider).label
    except UnknownProviderError:
        label = "The image provider"
    return (
        f"The studio's worker stopped while {label} was painting this portrait. The request may already "
        "have been billed, so it was not sent again automatically. Press Retry to send it again."
    )
