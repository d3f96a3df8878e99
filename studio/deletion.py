"""Deleting many rows with bounded memory: a queryset is deleted a batch of primary keys at a time.

`queryset.delete()` loads every matching row (and every related row with a delete signal) into memory before
deleting any; an account with 100,000 characters would load them all at once. Each batch here goes through the
ORM as usual, so post_delete handlers (which remove portrait files) still run, and its related lookups stay
small. Call it inside a transaction when the whole deletion must happen or not at all.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db.models import QuerySet

DELETE_BATCH_SIZE = 2000


def delete_in_batches(queryset: QuerySet, batch_size: int = DELETE_BATCH_SIZE) -> dict[str, int]:
    """Delete every row of `queryset` (and what cascades from it); returns the counts per model label."""
    deleted: Counter[str] = Counter()
    ids = queryset.order_by("pk").values_list("pk", flat=True)
    # Keyset pagination: each batch starts after the last deleted key. Asking again for "the first N" would
    # walk every index entry deleted earlier in this transaction (not yet vacuumed) on each round.
    last = None
    while batch := list((ids if last is None else ids.filter(pk__gt=last))[:batch_size]):
        last = batch[-1]
        # The queryset's only()/defer() carry over: the collector then loads just the fields the delete
        # signals read, which for 100,000 rows of many columns is most of the time spent.
        _total, by_model = queryset.order_by().filter(pk__in=batch).delete()
        deleted.update(by_model)
    return dict(deleted)


def set_null_in_batches(collector: Any, field: Any, sub_objs: QuerySet, using: str) -> None:
    """models.SET_NULL, for foreign keys to rows deleted by the thousand.

    Django defers SET_NULL's lookups as querysets and ORs them into one UPDATE at the end (deletion.py,
    Collector.delete), so deleting 100,000 portraits set StyleImage.source_portrait to null with one
    statement of 100,000 parameters, over PostgreSQL's 65,535. Without the `lazy_sub_objs` mark the collector
    loads the (few) referencing rows' keys batch by batch and updates them 100 at a time.
    """
    collector.add_field_update(field, None, sub_objs)
