"""Owner-scoped object lookups: the only way views load a user's objects."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

M = TypeVar("M", bound=Model)


def get_owned_or_404(request: HttpRequest, model_or_queryset: type[M] | QuerySet[M], **lookup: Any) -> M:
    """The object if it belongs to the logged-in user; a 404 for anyone else (never a 403 that leaks it)."""
    return get_object_or_404(model_or_queryset, owner=request.user, **lookup)


# Up to 18 digits fits a 64-bit primary key on every database.
_MAX_ID_DIGITS = 18


def parse_id(value: object) -> int | None:
    """A whole number from user input (a form value, a query parameter), or None.

    str.isdigit() alone accepts "¹" and other Unicode digits that int() refuses, and a huge number
    overflows the database's integer: both would be a 500 instead of "not found".
    """
    text = str(value).strip()
    if not text or not text.isascii() or not text.isdigit() or len(text) > _MAX_ID_DIGITS:
        return None
    return int(text)
