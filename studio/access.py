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
