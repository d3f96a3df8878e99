"""Keyset pages over any (column, id) order, for lists whose sort the user picks.

The same approach as the galleries (studio/portraits/galleries.py): a page is the rows after a cursor (the
last row's sort value and id), fetched one over the page size so the extra row says there is a next page.
No OFFSET (whose cost grows with the page number) and no COUNT(*) per page.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from studio.access import parse_id


@dataclass(frozen=True)
class Order:
    """One sort: a column (or annotation), its direction and the type its cursor value decodes to."""

    field: str
    descending: bool
    kind: type

    def order_by(self) -> tuple[str, str]:
        sign = "-" if self.descending else ""
        return (f"{sign}{self.field}", f"{sign}id")

    def after(self, value: Any, pk: int) -> Q:
        """The rows that come after (value, pk) in this order."""
        beyond = "lt" if self.descending else "gt"
        # The redundant <= / >= lets every database turn the row comparison into an index range.
        within = "lte" if self.descending else "gte"
        return Q(**{f"{self.field}__{within}": value}) & (
            Q(**{f"{self.field}__{beyond}": value}) | Q(**{self.field: value, f"id__{beyond}": pk})
        )

    def encode(self, row: Any) -> str:
        value = getattr(row, self.field)
        raw = json.dumps([value.isoformat() if isinstance(value, dt.datetime) else value, row.pk])
        return base64.urlsafe_b64encode(raw.encode()).decode("ascii").rstrip("=")

    def decode(self, token: str) -> tuple[Any, int] | None:
        """(value, id) from a URL token, or None for anything that is not one of ours (never a 500)."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            value, pk = json.loads(raw.decode("utf-8"))
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            return None
        pk = parse_id(pk) if isinstance(pk, int) and not isinstance(pk, bool) else None
        if pk is None:
            return None
        if self.kind is dt.datetime:
            try:
                stamp = parse_datetime(value) if isinstance(value, str) else None
            except ValueError:
                return None
            if stamp is None or timezone.is_naive(stamp) or not 1900 <= stamp.astimezone(dt.UTC).year <= 9998:
                return None
            return stamp, pk
        if self.kind is int:
            return (value, pk) if isinstance(value, int) and 0 <= value < 2**62 else None
        return (value, pk) if isinstance(value, str) and len(value) <= 1000 else None


@dataclass
class KeysetPage:
    rows: list[Any]
    next_cursor: str | None


def keyset_page(rows: QuerySet, order: Order, cursor: tuple[Any, int] | None, size: int) -> KeysetPage:
    """One page after the cursor; one query."""
    if cursor is not None:
        rows = rows.filter(order.after(*cursor))
    found = list(rows.order_by(*order.order_by())[: size + 1])
    has_next = len(found) > size
    found = found[:size]
    return KeysetPage(found, order.encode(found[-1]) if has_next and found else None)
