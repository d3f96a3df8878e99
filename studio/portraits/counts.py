"""Character.portrait_count: how many painted portraits (those with a thumbnail) each character has.

The characters list shows it on every card and sorts by it through the (owner, portrait_count, id) index,
so it is stored rather than counted per page. It counts exactly what the card always counted: a portrait
with a thumbnail, whatever its status. Every way that set changes keeps it:

- a job gets its image: Portrait.store_image adds one, in the image's own transaction;
- Portrait.save (a new painted portrait, or one whose thumbnail or character changed) moves it;
- any deletion of portraits (one, a gallery's bulk delete, studio.deletion.delete_in_batches, the admin):
  the receivers below subtract what each deletion removed, once per deletion, in its transaction. Deleting
  characters, or their owner, takes their counts with them;
- rows inserted in bulk, which skip save() (seeding, imports): call refresh_portrait_counts(character_ids)
  after them. It recounts from the portraits, so it also repairs a count that went wrong.

Counts move by deltas (F() expressions), which concurrent transactions add up exactly; a recount can miss a
portrait another transaction is committing at the same moment. The characters feature never imports this
one: the column is plain data to it, and Character.save never writes it (Character.KEPT_ELSEWHERE).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Greatest
from django.db.models.signals import post_delete, pre_delete
from django.dispatch import receiver

from studio.characters.models import Character

# Characters per UPDATE: well under SQLite's and PostgreSQL's parameter limits.
BATCH = 1000
PORTRAIT = "studio.Portrait"


def painted_count() -> Coalesce:
    """The number of painted portraits of the character OuterRef("pk"), as a correlated subquery (it reads
    the character's rows through the portraits' (character, created_at, id) index)."""
    portrait = apps.get_model("studio", "Portrait")
    painted = (
        portrait.objects.filter(character=OuterRef("pk"))
        .exclude(thumbnail="")
        .order_by()
        .values("character")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(painted, output_field=IntegerField()), Value(0))


def refresh_portrait_counts(character_ids: Iterable[int]) -> int:
    """Recount these characters' painted portraits from the portraits table: one UPDATE per BATCH characters.
    Call it after inserting portraits in bulk (bulk_create and raw SQL skip Portrait.save). Returns how many
    characters it updated."""
    ids = sorted({pk for pk in character_ids if pk is not None})  # one lock order for every caller
    updated = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        updated += Character.objects.filter(pk__in=chunk).update(portrait_count=painted_count())
    return updated


def add_painted(deltas: dict[int, int]) -> None:
    """Move each character's count by its delta ({character_id: +n or -n}): one UPDATE per distinct delta.
    Never below zero (the column is unsigned), should a count ever have gone wrong."""
    by_delta: dict[int, list[int]] = {}
    for pk, delta in deltas.items():
        if pk is not None and delta:
            by_delta.setdefault(delta, []).append(pk)
    for delta, pks in sorted(by_delta.items()):
        pks.sort()
        for start in range(0, len(pks), BATCH):
            count = F("portrait_count") + delta if delta > 0 else Greatest(F("portrait_count") + delta, 0)
            Character.objects.filter(pk__in=pks[start : start + BATCH]).update(portrait_count=count)


def counted_as(portrait: Any) -> tuple[int | None, bool] | None:
    """(character id, painted) as this instance holds them, or None when either field was not loaded."""
    fields = portrait.__dict__
    if "character_id" not in fields or "thumbnail" not in fields:
        return None
    return fields["character_id"], bool(fields["thumbnail"])


def changes_on_save(portrait: Any, update_fields: Iterable[str] | None) -> dict[int, int] | None:
    """What saving this instance does to the counts: {character_id: delta} ({} for nothing), or None when
    the row's state before is unknown (the instance was loaded without those fields): recount then."""
    if update_fields is not None and not {"thumbnail", "character", "character_id"} & set(update_fields):
        return {}
    now = counted_as(portrait)
    before = (None, False) if portrait._state.adding else getattr(portrait, "_counted", None)
    if now is None or before is None:
        return None
    deltas: Counter[int] = Counter()
    if before[0] is not None and before[1]:
        deltas[before[0]] -= 1
    if now[0] is not None and now[1]:
        deltas[now[0]] += 1
    return {pk: delta for pk, delta in deltas.items() if delta}


# ---------------------------------------------------------------------------------------------------------
# Deletions. Django's deletion collector sends pre_delete for every row, deletes them all, then sends
# post_delete for every row, in one transaction: pre_delete adds up each character's loss on the deletion's
# `origin` (the portrait, or the queryset deleted), the first post_delete applies it in one go.

_PENDING = "_portrait_counts_pending"
_QUERIED = "_portrait_counts_queried"


def _goes_with_its_characters(origin: Any) -> bool:
    """Deleting characters (or a user) deletes their portraits too: no count is left to keep."""
    model = origin.model if isinstance(origin, QuerySet) else type(origin)
    return issubclass(model, Character | get_user_model())


@receiver(pre_delete, sender=PORTRAIT, dispatch_uid="studio.portrait_count_deleting")
def _portrait_deleting(sender: Any, instance: Any, origin: Any = None, **kwargs: Any) -> None:
    if origin is None or _goes_with_its_characters(origin):
        return
    pending = origin.__dict__.setdefault(_PENDING, Counter())
    state = counted_as(instance)
    if state is not None:
        if state[0] is not None and state[1]:
            pending[state[0]] -= 1
    elif isinstance(origin, QuerySet):
        # Loaded with only() (delete_in_batches does, for 100,000 rows): one grouped query for the whole
        # deletion instead of one per row. Its rows are all still there.
        if not origin.__dict__.get(_QUERIED):
            origin.__dict__[_QUERIED] = True
            painted = origin.order_by().exclude(thumbnail="").exclude(character=None)
            for row in painted.values("character_id").annotate(n=Count("pk")).order_by():
                pending[row["character_id"]] -= row["n"]
    elif instance.character_id is not None and instance.thumbnail:  # one row: its fields load on access
        pending[instance.character_id] -= 1


@receiver(post_delete, sender=PORTRAIT, dispatch_uid="studio.portrait_count_deleted")
def _portrait_deleted(sender: Any, instance: Any, origin: Any = None, **kwargs: Any) -> None:
    if origin is None:  # a deletion with no origin to gather on: this row alone
        if instance.character_id is not None and instance.thumbnail:
            add_painted({instance.character_id: -1})
        return
    pending = origin.__dict__.pop(_PENDING, None)
    origin.__dict__.pop(_QUERIED, None)
    if pending:
        add_painted(pending)
