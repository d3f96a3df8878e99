"""Log events for characters, whatever path changed them (views, the CLI, the admin, an account deletion)."""

from __future__ import annotations

import logging
from typing import Any

from django.db.models.signals import post_delete, post_save

from .models import Character

logger = logging.getLogger("studio.characters")


def _character_saved(sender: type[Character], instance: Character, created: bool, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    logger.info(
        "character.created" if created else "character.updated",
        extra={"character_id": instance.pk, "owner_id": instance.owner_id, "version": instance.version},
    )


def _character_deleted(sender: type[Character], instance: Character, **kwargs: Any) -> None:
    logger.info("character.deleted", extra={"character_id": instance.pk, "owner_id": instance.owner_id})


def connect() -> None:
    post_save.connect(_character_saved, sender=Character, dispatch_uid="studio.character_saved")
    post_delete.connect(_character_deleted, sender=Character, dispatch_uid="studio.character_deleted")
