"""A user's characters as JSON, for the account page's download.

A minimal export kept here until studio/imports.py (the CSV/JSON import and export workflows) lands; then
the account page should offer its export_json/export_csv instead and this module can go.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from studio import vocabulary
from studio.models import Character

EXPORT_FORMAT = "dali-characters/1"


def characters_export(user: Any) -> dict[str, Any]:
    characters = Character.objects.filter(owner=user).order_by("name")
    return {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now().isoformat(timespec="seconds"),
        "owner": user.email,
        "characters": [
            {
                "name": character.name,
                **{name: getattr(character, name) for name in vocabulary.BY_NAME},
                "distinguishing_features": character.distinguishing_features,
                "negative_prompt": character.negative_prompt,
                "notes": character.notes,
                "visibility": character.visibility,
                "version": character.version,
                "created_at": character.created_at.isoformat(timespec="seconds"),
                "updated_at": character.updated_at.isoformat(timespec="seconds"),
            }
            for character in characters
        ],
    }
