"""Portrait generation workflow: queue a job, then run it in the worker."""

from __future__ import annotations

import logging
import random
import time
from typing import Any

from django.conf import settings
from django.db import transaction

from . import prompts
from .models import Character, Portrait
from .providers import get_provider
from .providers.base import GenerationRequest, ProviderError

logger = logging.getLogger(__name__)


def new_seed() -> int:
    return random.randint(0, 2**31 - 1)


def queue_character_portrait(
    character: Character,
    *,
    provider: str | None = None,
    model: str | None = None,
    seed: int | None = None,
    size: str | None = None,
) -> Portrait:
    """Record a queued portrait of the character as it is now and hand it to the worker."""
    prompt = prompts.character_prompt(character)
    backend = get_provider(provider or settings.DEFAULT_IMAGE_PROVIDER)
    model_name = model or backend.default_model
    prompts.check_length(prompt, backend.prompt_limit(model_name), where=backend.label)
    portrait = Portrait.objects.create(
        owner=character.owner,
        character=character,
        character_version=character.version,
        prompt=prompt.text,
        negative_prompt=prompt.negative,
        provider=backend.name,
        model=model_name,
        seed=new_seed() if seed is None else seed,
        parameters={
            "size": size or f"{settings.PORTRAIT_SIZE}x{settings.PORTRAIT_SIZE}",
            "attributes": character.attribute_values(),
        },
    )
    _enqueue(portrait)
    logger.info("generation.queued", extra=_fields(portrait))
    return portrait


def _enqueue(portrait: Portrait) -> None:
    from .tasks import generate_portrait

    def send() -> None:
        result = generate_portrait.enqueue(portrait.pk)
        Portrait.objects.filter(pk=portrait.pk).update(task_id=str(result.id))

    transaction.on_commit(send)


def run_portrait_job(portrait_id: int) -> str:
    """Run one queued portrait job; returns its final status. Never raises for provider failures."""
    portrait = Portrait.objects.filter(pk=portrait_id).first()
    if portrait is None or not portrait.mark_running():
        return "skipped"
    backend = get_provider(portrait.provider)
    request = GenerationRequest(
        prompt=portrait.prompt,
        negative_prompt=portrait.negative_prompt,
        size=portrait.parameters.get("size", ""),
        seed=portrait.seed,
        model=portrait.model,
        attributes=portrait.parameters.get("attributes") or None,
    )
    logger.info("generation.started", extra=_fields(portrait))
    started = time.monotonic()
    try:
        result = backend.generate(request)
    except ProviderError as error:
        portrait.mark_failed(error.kind.value, error.message)
        logger.warning(
            "generation.failed",
            extra={
                **_fields(portrait),
                "duration_ms": _elapsed_ms(started),
                "error_kind": error.kind.value,
                "http_status": error.status,
            },
        )
        return portrait.status
    image = result.images[0]
    portrait.store_image(image.data, metadata=_png_metadata(portrait))
    logger.info(
        "generation.succeeded",
        extra={**_fields(portrait), "duration_ms": _elapsed_ms(started), "bytes": len(image.data)},
    )
    return portrait.status


def _fields(portrait: Portrait) -> dict[str, Any]:
    """What a generation event says: never the prompt's image, a key or the provider's raw answer."""
    return {
        "portrait_id": portrait.pk,
        "character_id": portrait.character_id,
        "owner_id": portrait.owner_id,
        "provider": portrait.provider,
        "model": portrait.model,
    }


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _png_metadata(portrait: Portrait) -> dict[str, Any]:
    return {
        "prompt": portrait.prompt,
        "negative_prompt": portrait.negative_prompt,
        "provider": portrait.provider,
        "model": portrait.model,
        "seed": portrait.seed,
        "size": portrait.parameters.get("size", ""),
        "character": portrait.character.name if portrait.character else "",
        "character_version": portrait.character_version or "",
    }
