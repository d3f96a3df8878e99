from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connections, models, transaction
from django.db.models import Case, Exists, OuterRef, Q, QuerySet, Value, When, sql
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone

from studio.characters.models import Character, Visibility
from studio.characters.signals import visibility_changed
from studio.deletion import set_null_in_batches
from studio.portraits import counts
from studio.portraits.files import IMAGE_DECODE_ERRORS, UnreadableImageError, encode_portrait_files
from studio.portraits.providers import provider_label

# Portraits that were never queued (imported from a character card, seeded for benchmarks) carry this as their
# queued_at: long past, so they stay out of the owner's daily limits (which count attempts queued today), the
# Usage page and the queue page, whatever their created_at.
NEVER_QUEUED = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def start_of_today() -> Any:
    """Midnight today in the server's TIME_ZONE: the daily limits' day starts here."""
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


class Batch(models.Model):
    """Jobs queued together in one click: variations of a character, or a quick-generate set of prompts."""

    class Kind(models.TextChoices):
        CHARACTER = "character", "Character variations"
        QUICK = "quick", "Quick generate"
        SHEET = "sheet", "Character sheet"
        IMPORT = "import", "Portraits of imported characters"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="batches")
    character = models.ForeignKey(
        Character, null=True, blank=True, on_delete=models.CASCADE, related_name="batches"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # What the run was for, where the kind and character do not say it (an import's file name).
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["owner", "-created_at"], name="batch_owner_created")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("studio:batch_detail", args=[self.pk])

    @property
    def title(self) -> str:
        if self.name:
            return self.name
        if self.character_id and self.kind == self.Kind.SHEET:
            return f"Character sheet of {self.character.name}"
        if self.character_id:
            return f"Variations of {self.character.name}"
        if self.kind == self.Kind.IMPORT:
            return "Portraits of imported characters"
        return "Quick generate"

    def progress(self) -> BatchProgress:
        counts = dict(
            self.portraits.values_list("status").annotate(n=models.Count("id")).order_by()  # type: ignore[arg-type]
        )
        return BatchProgress(**{status: counts.get(status, 0) for status in Portrait.Status.values})


class BatchProgress:
    """Counts per status of one batch's jobs, for progress bars."""

    def __init__(self, queued: int, running: int, succeeded: int, failed: int, cancelled: int) -> None:
        self.queued, self.running = queued, running
        self.succeeded, self.failed, self.cancelled = succeeded, failed, cancelled

    @property
    def total(self) -> int:
        return self.queued + self.running + self.succeeded + self.failed + self.cancelled

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed + self.cancelled

    @property
    def active(self) -> int:
        return self.queued + self.running

    @property
    def percent(self) -> int:
        return round(100 * self.finished / self.total) if self.total else 100

    @property
    def summary(self) -> str:
        """What happened to each job, in words: "1 painted, 9 cancelled" (never a bare "10 / 10")."""
        counts = (
            (self.succeeded, "painted"),
            (self.running, "painting"),
            (self.queued, "queued"),
            (self.failed, "failed"),
            (self.cancelled, "cancelled"),
        )
        return ", ".join(f"{count} {word}" for count, word in counts if count) or "No portraits"

    @property
    def segments(self) -> list[tuple[str, int, int]]:
        """(status, count, % of the bar) of each finished kind and of the one painting, for a stacked bar."""
        counts = (
            ("succeeded", self.succeeded),
            ("failed", self.failed),
            ("cancelled", self.cancelled),
            ("running", self.running),
        )
        total = self.total or 1
        return [(status, count, round(100 * count / total, 2)) for status, count in counts if count]


def _image_name(_instance: Portrait, _filename: str) -> str:
    return f"portraits/{uuid.uuid4().hex}.png"


def title_from_prompt(prompt: str, limit: int = 48) -> str:
    """A card title from a typed prompt: its first phrase, cut at a word ("A child astronaut floating")."""
    phrase = re.split(r"[,.;:\n]", prompt.strip(), maxsplit=1)[0].strip()
    if len(phrase) > limit:
        phrase = phrase[:limit].rsplit(" ", 1)[0].rstrip() + "…"
    return phrase[:1].upper() + phrase[1:] if phrase else "Portrait"


def _thumbnail_name(_instance: Portrait, _filename: str) -> str:
    return f"portraits/thumbs/{uuid.uuid4().hex}.webp"


class Portrait(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)
    # The provider of a portrait imported from a character card (a CHARX's images, a PNG card's picture):
    # nothing painted it and nothing was billed (see studio/imports/card_portraits.py).
    IMPORTED = "imported"
    # How pages name the makers that are not in the provider registry (studio.portraits.providers):
    # imported pictures, and the art lab's style models (studio.lab.styles.PROVIDER).
    PROVIDER_LABELS = {IMPORTED: "Imported", "style": "Style model"}
    # A job whose worker vanished while a paid provider may have been painting it (see recover_expired_jobs).
    INTERRUPTED = "interrupted"
    # A job the task backend (RQ) refused to take: no worker ever saw it, nothing was sent or billed.
    QUEUE_UNAVAILABLE = "queue_unavailable"
    # Failures where nothing was made (the provider refused, or the job never left the studio): they do not
    # count towards the daily limits.
    NOTHING_MADE_ERRORS = frozenset(
        {
            "moderation",
            "auth",
            "quota",
            "invalid_request",
            "model_unavailable",
            "rate_limited",
            QUEUE_UNAVAILABLE,
        }
    )

    # No single-column indexes on owner and character: the composite gallery indexes below start with them
    # and serve every lookup and cascade, and each extra index is one more write on every status change.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portraits", db_index=False
    )
    character = models.ForeignKey(
        Character,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="portraits",
        db_index=False,
    )
    character_version = models.PositiveIntegerField(null=True, blank=True)
    prompt = models.TextField()
    negative_prompt = models.TextField(blank=True)
    provider = models.CharField(max_length=40)
    model = models.CharField(max_length=80, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    seed = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    error_kind = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    image = models.ImageField(upload_to=_image_name, blank=True)
    thumbnail = models.ImageField(upload_to=_thumbnail_name, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    file_size = models.PositiveIntegerField(null=True, blank=True)
    # SHA-256 of the stored image file, to recognise the same picture imported again; blank for portraits
    # stored before it was kept, until an import compares them (card_portraits fills it in then). Looked up
    # per character, which portrait_character_created narrows to that character's rows.
    sha256 = models.CharField(max_length=64, blank=True, editable=False)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE)
    # In the Community gallery: the portrait or its character is public. Denormalised (kept in sync by
    # Character.save and Portrait.save / sync_public_flags) so the community gallery is one index range scan.
    is_public = models.BooleanField(default=False, editable=False)
    like_count = models.PositiveIntegerField(default=0, editable=False)
    task_id = models.CharField(max_length=64, blank=True)
    batch = models.ForeignKey(
        Batch, null=True, blank=True, on_delete=set_null_in_batches, related_name="portraits"
    )
    estimated_cost = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal("0"))
    # What the provider billed for the current attempt, from the usage it reported (pricing.actual_cost);
    # null until an image is stored, and when the provider reports nothing to price.
    actual_cost = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    # The worker holding a running job writes under this token until the lease expires; see mark_running.
    claim_token = models.CharField(max_length=32, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # One entry per attempt: {"attempt", "outcome", "error_kind", "at"}.
    history = models.JSONField(default=list, blank=True)
    # The reference images it was made from, as chosen when it was queued: one {"id", "sha256", "role",
    # "name"} each, in the order they are sent (see references.chosen_references).
    references = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # The daily limits count every attempt on the day it was queued (see generation.usage_today): queued_at
    # is when the current attempt was queued (created, or Retry), same_day_attempts how many earlier
    # attempts queued on that same day count too.
    queued_at = models.DateTimeField(default=timezone.now, editable=False)
    same_day_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The owner's own order of their queued jobs: lower first, then queued_at ("move to front" sets it below
    # every other queued job of the owner). Whose job comes next is fair between users: see scheduling.py.
    queue_position = models.BigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ("-created_at", "-id")
        # Every gallery is ordered by (created_at, id) descending and paged by keyset, so each filter the UI
        # offers has an index that starts with its equality columns and ends with that order.
        indexes = [
            models.Index(fields=["owner", "-created_at", "-id"], name="portrait_owner_created"),
            models.Index(fields=["character", "-created_at", "-id"], name="portrait_character_created"),
            models.Index(fields=["owner", "status", "-created_at", "-id"], name="portrait_owner_status"),
            models.Index(fields=["owner", "provider", "-created_at", "-id"], name="portrait_owner_provider"),
            models.Index(
                fields=["-created_at", "-id"], condition=Q(is_public=True), name="portrait_public_created"
            ),
            models.Index(
                fields=["provider", "-created_at", "-id"],
                condition=Q(is_public=True),
                name="portrait_public_provider",
            ),
            models.Index(fields=["status", "lease_expires_at"], name="portrait_status_lease"),
            # The daily-limit check: one user's attempts queued since midnight.
            models.Index(fields=["owner", "queued_at"], name="portrait_owner_queued"),
            # The studio-wide spend check: every user's paid attempts queued since midnight.
            models.Index(
                fields=["queued_at"], condition=Q(estimated_cost__gt=0), name="portrait_paid_queued"
            ),
            # The fair scheduler (studio.portraits.scheduling): the owners with queued jobs and each one's
            # next job, from an index that holds queued rows only; and when each owner was last served.
            models.Index(
                fields=["owner", "queue_position", "queued_at", "id"],
                condition=Q(status="queued"),
                name="portrait_queued_order",
            ),
            models.Index(fields=["owner", "started_at"], name="portrait_owner_started"),
        ]

    def __str__(self) -> str:
        return f"Portrait {self.pk} ({self.get_status_display()})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "visibility" in update_fields:
            self.is_public = self.compute_is_public()
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "is_public"}
        # The character's stored count of painted portraits moves with the row, in the same transaction.
        moves = counts.changes_on_save(self, update_fields)
        if moves == {}:
            super().save(*args, **kwargs)
        else:
            with transaction.atomic(using=kwargs.get("using")):
                super().save(*args, **kwargs)
                if moves is None:
                    counts.refresh_portrait_counts([self.character_id])
                else:
                    counts.add_painted(moves)
        self._counted = counts.counted_as(self)

    def get_absolute_url(self) -> str:
        return reverse("studio:portrait_detail", args=[self.pk])

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Portrait:
        instance = super().from_db(db, field_names, values)
        instance._counted = counts.counted_as(instance)  # what the character's count holds of this row
        return instance

    def refresh_from_db(self, using: Any = None, fields: Any = None, from_queryset: Any = None) -> None:
        super().refresh_from_db(using, fields, from_queryset)
        if fields is None or {"thumbnail", "character", "character_id"} & set(fields):
            self._counted = counts.counted_as(self)

    def compute_is_public(self) -> bool:
        if self.visibility == Visibility.PUBLIC:
            return True
        return self.character_id is not None and self.character.visibility == Visibility.PUBLIC

    @staticmethod
    def sync_public_flags(portraits: QuerySet[Portrait], visibility: str | None = None) -> int:
        """Recompute is_public of many portraits in one UPDATE (optionally setting their visibility too)."""
        character_public = Exists(
            Character.objects.filter(pk=OuterRef("character_id"), visibility=Visibility.PUBLIC)
        )
        if visibility == Visibility.PUBLIC:
            return portraits.update(visibility=visibility, is_public=True)
        if visibility is not None:
            return portraits.update(
                visibility=visibility,
                is_public=Case(When(character_public, then=Value(True)), default=Value(False)),
            )
        return portraits.update(
            is_public=Case(
                When(Q(visibility=Visibility.PUBLIC) | character_public, then=Value(True)),
                default=Value(False),
            )
        )

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def method_label(self) -> str:
        """How a portrait without a character was made, for gallery cards: the art lab's methods by name."""
        if self.provider == "patterns":
            return f"Pattern: {self.model}"
        if self.provider == "style":
            return f"Style model: {self.model.upper()}"
        return title_from_prompt(self.prompt)

    @property
    def provider_label(self) -> str:
        """The provider as pages show it: its display name ("local" -> "Local painter", "imported" ->
        "Imported"), or the stored name where nothing names it."""
        return self.label_of_provider(self.provider)

    @classmethod
    def label_of_provider(cls, name: str) -> str:
        """A provider's display name, for the pages that count portraits by provider (usage, stats)."""
        return cls.PROVIDER_LABELS.get(name) or provider_label(name)

    @property
    def size_label(self) -> str:
        return f"{self.width}x{self.height}" if self.width else self.parameters.get("size", "")

    @property
    def quality(self) -> str:
        return self.parameters.get("quality", "")

    @classmethod
    def claim(
        cls, pk: int, lease_seconds: float | None = None, *, task_id: str = ""
    ) -> tuple[Portrait, str] | None:
        """Claim a queued job for one attempt: (the job, its claim token), or None when it was cancelled or
        already taken. The claim lasts until the lease expires (settings.PORTRAIT_LEASE_SECONDS). `task_id`
        is the task running it (recovery closes that task's row should the worker die)."""
        now = timezone.now()
        token = uuid.uuid4().hex
        seconds = settings.PORTRAIT_LEASE_SECONDS if lease_seconds is None else lease_seconds
        values = {
            "status": cls.Status.RUNNING,
            "started_at": now,
            "attempts": models.F("attempts") + 1,
            "claim_token": token,
            "lease_expires_at": now + timedelta(seconds=seconds),
        }
        if task_id:
            values["task_id"] = task_id
        queued = cls.objects.filter(pk=pk, status=cls.Status.QUEUED)
        if connections[queued.db].features.can_return_rows_from_bulk_insert:  # UPDATE ... RETURNING
            claimed = _update_returning(queued, values)
            return (claimed, token) if claimed is not None else None
        if not queued.update(**values):
            return None
        return cls.objects.get(pk=pk), token

    def renew_lease(self, claim: str, lease_seconds: float | None = None) -> bool:
        """Extend a running job's lease by a full PORTRAIT_LEASE_SECONDS from now, only while `claim` still
        holds it. False means the job was recovered (or retried) meanwhile: the holder must stop."""
        seconds = settings.PORTRAIT_LEASE_SECONDS if lease_seconds is None else lease_seconds
        expires = timezone.now() + timedelta(seconds=seconds)
        renewed = Portrait.objects.filter(pk=self.pk, status=self.Status.RUNNING, claim_token=claim).update(
            lease_expires_at=expires
        )
        if renewed:
            self.lease_expires_at = expires
        return bool(renewed)

    def mark_running(self, lease_seconds: float | None = None) -> str | None:
        """Claim this queued job (see claim); returns the claim token or None."""
        claimed = self.claim(self.pk, lease_seconds)
        if claimed is None:
            return None
        fresh, token = claimed
        for name in ("status", "started_at", "attempts", "claim_token", "lease_expires_at"):
            setattr(self, name, getattr(fresh, name))
        return token

    def _history_with(self, outcome: str, error_kind: str = "") -> list[dict[str, Any]]:
        entry = {"attempt": self.attempts, "outcome": outcome, "at": timezone.now().isoformat()}
        if error_kind:
            entry["error_kind"] = error_kind
        return [*self.history, entry]

    def mark_failed(self, kind: str, message: str, claim: str | None = None) -> bool:
        """Record a failed attempt. With a claim token, only while that claim still holds the job."""
        now = timezone.now()
        fields = {
            "status": self.Status.FAILED,
            "error_kind": kind,
            "error_message": message,
            "finished_at": now,
            "lease_expires_at": None,
            "history": self._history_with("failed", kind),
        }
        rows = Portrait.objects.filter(pk=self.pk)
        if claim is not None:
            rows = rows.filter(status=self.Status.RUNNING, claim_token=claim)
        if not rows.update(**fields):
            return False
        for name, value in fields.items():
            setattr(self, name, value)
        return True

    def mark_not_queued(self, message: str) -> bool:
        """Fail a queued job whose task the backend would not take; False when it is no longer queued."""
        fields = {
            "status": self.Status.FAILED,
            "error_kind": self.QUEUE_UNAVAILABLE,
            "error_message": message,
            "finished_at": timezone.now(),
            "history": self._history_with("not queued", self.QUEUE_UNAVAILABLE),
        }
        if not Portrait.objects.filter(pk=self.pk, status=self.Status.QUEUED).update(**fields):
            return False
        for name, value in fields.items():
            setattr(self, name, value)
        return True

    def cancel(self) -> bool:
        """Cancel a job that no worker has started; False when it is already running or finished."""
        updated = Portrait.objects.filter(pk=self.pk, status=self.Status.QUEUED).update(
            status=self.Status.CANCELLED, finished_at=timezone.now()
        )
        if updated:
            self.refresh_from_db(fields=["status", "finished_at"])
        return bool(updated)

    # Failures a second attempt can fix: a busy or flaky provider, or settings the admin can change.
    RETRYABLE_ERRORS = frozenset(
        {
            "rate_limited",
            "transient",
            "malformed",
            "quota",
            "auth",
            "model_unavailable",
            "internal",
            INTERRUPTED,
            QUEUE_UNAVAILABLE,
        }
    )

    @property
    def can_retry(self) -> bool:
        """Moderation refusals and invalid requests would fail again: those get Remix, not Retry."""
        return self.status == self.Status.FAILED and self.error_kind in self.RETRYABLE_ERRORS

    def requeue(self) -> bool:
        """Put a failed (or interrupted) job back in the queue for a new attempt on the same record.

        The new attempt counts towards today's limits; the failed one stays counted on the day it was queued
        (same_day_attempts carries it when that day is today, unless it made nothing)."""
        updated = Portrait.objects.filter(
            pk=self.pk, status=self.Status.FAILED, error_kind__in=self.RETRYABLE_ERRORS
        ).update(
            # Every right-hand side reads the row as it was before this UPDATE.
            same_day_attempts=Case(
                When(queued_at__lt=start_of_today(), then=Value(0)),
                When(error_kind__in=self.NOTHING_MADE_ERRORS, then=models.F("same_day_attempts")),
                default=models.F("same_day_attempts") + 1,
                output_field=models.PositiveSmallIntegerField(),
            ),
            queued_at=timezone.now(),
            queue_position=0,
            status=self.Status.QUEUED,
            actual_cost=None,
            error_kind="",
            error_message="",
            claim_token="",
            lease_expires_at=None,
            started_at=None,
            finished_at=None,
        )
        if updated:
            self.refresh_from_db()
        return bool(updated)

    def store_image(
        self,
        image_bytes: bytes,
        metadata: dict[str, Any] | None = None,
        claim: str | None = None,
        *,
        result_parameters: dict[str, Any] | None = None,
        actual_cost: Decimal | None = None,
    ) -> bool:
        """Save the generated image as a PNG (parameters in text chunks) with a WebP thumbnail.

        With a claim token the image is kept only if that claim still holds the job (or the job was
        marked interrupted under it), so a job never gets two images; otherwise the files are removed
        and False is returned. `result_parameters` (what the provider reported: a revised prompt, usage)
        are merged into `parameters`, and `actual_cost` booked, in the same conditional update. Raises
        UnreadableImageError, with nothing stored, when the bytes do not decode."""
        try:
            files = encode_portrait_files(image_bytes, metadata)
        except IMAGE_DECODE_ERRORS as error:
            raise UnreadableImageError(f"{type(error).__name__}: {error}") from error
        saved: list[Any] = []
        stored = False
        try:
            self.image.save("portrait.png", ContentFile(files.png), save=False)
            saved.append(self.image)
            self.thumbnail.save("thumb.webp", ContentFile(files.webp), save=False)
            saved.append(self.thumbnail)
            fields = {
                "image": self.image.name,
                "thumbnail": self.thumbnail.name,
                "width": files.width,
                "height": files.height,
                "file_size": len(files.png),
                "sha256": hashlib.sha256(files.png).hexdigest(),
                "parameters": {**self.parameters, **(result_parameters or {})},
                "actual_cost": actual_cost,
                "status": self.Status.SUCCEEDED,
                "error_kind": "",
                "error_message": "",
                "finished_at": timezone.now(),
                "lease_expires_at": None,
                "history": self._history_with("succeeded"),
            }
            rows = Portrait.objects.filter(pk=self.pk)
            if claim is not None:
                rows = rows.filter(claim_token=claim, image="").filter(
                    models.Q(status=self.Status.RUNNING)
                    | models.Q(status=self.Status.FAILED, error_kind=self.INTERRUPTED)
                )
            with transaction.atomic():
                updated = bool(rows.update(**fields))
                if updated and self.character_id:
                    # A claimed job had no image (image=""): one more painted portrait for its character.
                    # Without a claim the row may have had one already: recount.
                    if claim is not None:
                        counts.add_painted({self.character_id: 1})
                    else:
                        counts.refresh_portrait_counts([self.character_id])
            stored = updated
        finally:
            if not stored:
                # Another attempt owns the job now (or it was deleted), or saving failed (a full disk, a lost
                # database connection): the image is not kept, and leaves no file behind.
                for file in saved:
                    file.storage.delete(file.name)
                self.image, self.thumbnail = "", ""
        if not stored:
            return False
        for name, value in fields.items():
            setattr(self, name, value)
        self._counted = counts.counted_as(self)  # counted above: a later save() must not count it again
        return True

    @property
    def is_older_look(self) -> bool:
        """Made from an earlier version of its character (its prompt fields changed since)."""
        return bool(
            self.character_id
            and self.character_version
            and Portrait.character.is_cached(self)
            and self.character_version < self.character.version
        )

    @property
    def shot_label(self) -> str:
        """A character sheet's view or expression ("Three-quarter view", "Smiling"), else ""."""
        shot = self.parameters.get("shot") or {}
        if shot.get("view"):
            return f"{shot['view'].replace('_', '-').capitalize()} view"
        return str(shot.get("expression", "")).capitalize()

    @property
    def revised_prompt(self) -> str:
        """The prompt as the provider rewrote it before painting (DALL·E 3 and others), if it said."""
        return self.parameters.get("revised_prompt", "")

    @property
    def not_drawn(self) -> str:
        """The words of a free prompt the offline painter could not draw ("floating, space"), else ""."""
        words = (self.parameters.get("sent") or {}).get("not_drawn") or []
        return ", ".join(str(word) for word in words) if isinstance(words, list) else ""


def _update_returning(rows: QuerySet[Portrait], values: dict[str, Any]) -> Portrait | None:
    """rows.update(**values) for at most one row, returning it as updated, in one statement (PostgreSQL and
    SQLite 3.35+): a worker's claim is one round trip, not an UPDATE and then a SELECT."""
    query = rows.query.chain(sql.UpdateQuery)
    query.add_update_values(values)
    update_sql, params = query.get_compiler(rows.db).as_sql()
    quote = connections[rows.db].ops.quote_name
    columns = ", ".join(quote(field.column) for field in rows.model._meta.concrete_fields)
    # raw() maps the returned columns onto a model and applies each field's database converters.
    updated = list(rows.model.objects.using(rows.db).raw(f"{update_sql} RETURNING {columns}", params))
    return updated[0] if updated else None


class Like(models.Model):
    """One per user per portrait; Portrait.like_count is its denormalised count."""

    # user_id leads the unique (user, portrait) index, which serves it; portrait_id has the FK's own index.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="likes", db_index=False
    )
    portrait = models.ForeignKey(Portrait, on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint("user", "portrait", name="unique_like_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id} likes {self.portrait_id}"


class Favourite(models.Model):
    """A private star: only its owner sees it."""

    # user_id leads the unique (user, portrait) index, which serves it; portrait_id has the FK's own index.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourites", db_index=False
    )
    portrait = models.ForeignKey(Portrait, on_delete=models.CASCADE, related_name="favourites")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint("user", "portrait", name="unique_favourite_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id} starred {self.portrait_id}"


def _reference_name(_instance: ReferenceImage, _filename: str) -> str:
    return f"references/{uuid.uuid4().hex}.png"


class ReferenceImage(models.Model):
    """One image of a character's reference set: a copy of one of its portraits or an upload, stored as a
    PNG of at most REFERENCE_SIDE pixels on its long side, so a job sends it without resizing."""

    class Role(models.TextChoices):
        FACE = "face", "Face"
        OUTFIT = "outfit", "Outfit"
        STYLE = "style", "Style"
        POSE = "pose", "Pose"

    MAX_PER_CHARACTER = 8

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    character = models.ForeignKey(Character, on_delete=models.CASCADE, related_name="reference_images")
    # The portrait it was copied from (the copy stays when the portrait is deleted).
    portrait = models.ForeignKey(
        Portrait, null=True, blank=True, on_delete=models.SET_NULL, related_name="reference_uses"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.FACE)
    position = models.PositiveSmallIntegerField(default=0)
    label = models.CharField(max_length=120)
    image = models.ImageField(upload_to=_reference_name)
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    # The identity the offline painter keeps when this is the first face reference.
    painter_seed = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ("position", "id")
        indexes = [models.Index(fields=["character", "position"], name="reference_character_position")]

    def __str__(self) -> str:
        return f"{self.get_role_display()} reference {self.pk} of {self.character_id}"


class CharacterLook(models.Model):
    """What the portraits feature keeps about a character's look: its chosen cover portrait.

    Without a chosen cover (or once it is deleted) the character's newest succeeded portrait is its cover
    (see references.with_cover)."""

    character = models.OneToOneField(
        Character, on_delete=models.CASCADE, primary_key=True, related_name="look"
    )
    cover = models.ForeignKey(Portrait, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return f"Look of {self.character_id}"


# Files under this folder are shared by many rows (seeded benchmark and demo portraits) and never deleted
# with one of them.
SHARED_FILES_PREFIX = "portraits/shared/"


@receiver(visibility_changed, sender=Character, dispatch_uid="studio.portrait_visibility")
def _character_visibility_changed(sender: type[Character], character: Character, **kwargs: Any) -> None:
    """A portrait is public when it and its character are: keep the stored flag in step."""
    Portrait.sync_public_flags(Portrait.objects.filter(character=character))


@receiver(post_delete, sender=ReferenceImage)
def _delete_reference_file(sender: type[ReferenceImage], instance: ReferenceImage, **kwargs: Any) -> None:
    if instance.image:
        instance.image.storage.delete(instance.image.name)


@receiver(post_delete, sender=Portrait)
def _delete_portrait_files(sender: type[Portrait], instance: Portrait, **kwargs: Any) -> None:
    for file in (instance.image, instance.thumbnail):
        if file and not file.name.startswith(SHARED_FILES_PREFIX):
            file.storage.delete(file.name)
