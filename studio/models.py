from __future__ import annotations

import io
import struct
import uuid
import zlib
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import connections, models
from django.db.models import Case, Exists, OuterRef, Q, QuerySet, Value, When, sql
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from PIL import Image, UnidentifiedImageError
from PIL.PngImagePlugin import PngInfo

from . import vocabulary


def start_of_today() -> Any:
    """Midnight today in the server's TIME_ZONE: the daily limits' day starts here."""
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


class Visibility(models.TextChoices):
    PRIVATE = "private", "Private"
    PUBLIC = "public", "Public"


class Character(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="characters")
    name = models.CharField(max_length=120)
    distinguishing_features = models.TextField(
        blank=True, help_text="Scars, markings, anything the vocabulary does not cover."
    )
    negative_prompt = models.TextField(blank=True, help_text="What the image should avoid.")
    notes = models.TextField(blank=True, help_text="Private notes; never sent to an image model.")
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    # The appearance attributes are added below from the vocabulary, one field each.

    class Meta:
        ordering = ("name",)
        constraints = [models.UniqueConstraint("owner", "name", name="unique_character_name_per_owner")]
        indexes = [models.Index(fields=["owner", "-updated_at"], name="character_owner_updated")]

    def __str__(self) -> str:
        return self.name

    # Everything that changes the prompt bumps the version, so a portrait records what it was made from.
    PROMPT_FIELDS: tuple[str, ...] = (*vocabulary.NAMES, "distinguishing_features", "negative_prompt")

    def save(self, *args: Any, **kwargs: Any) -> None:
        adding = self._state.adding
        loaded = getattr(self, "_loaded_prompt_state", None)
        if loaded is not None and loaded != self.prompt_state():
            self.version += 1
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "version"}
        super().save(*args, **kwargs)
        self._loaded_prompt_state = self.prompt_state()
        if getattr(self, "_loaded_visibility", self.visibility) != self.visibility:
            Portrait.sync_public_flags(Portrait.objects.filter(character=self))
        self._loaded_visibility = self.visibility
        # A name we did not load may have changed: count it as a change of the owner's character list.
        if adding or getattr(self, "_loaded_name", None) != self.name:
            get_user_model().characters_changed(self.owner_id)
        self._loaded_name = self.name

    def get_absolute_url(self) -> str:
        return reverse("studio:character_detail", args=[self.pk])

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Character:
        instance = super().from_db(db, field_names, values)
        # Only a fully loaded row can be compared; reading deferred fields here would cost a query each.
        loaded_all = set(cls.PROMPT_FIELDS).issubset(field_names)
        instance._loaded_prompt_state = instance.prompt_state() if loaded_all else None
        if "visibility" in field_names:
            instance._loaded_visibility = instance.visibility
        if "name" in field_names:
            instance._loaded_name = instance.name
        return instance

    def prompt_state(self) -> tuple[Any, ...]:
        return tuple(
            tuple(value) if isinstance(value := getattr(self, name, None), list) else value
            for name in self.PROMPT_FIELDS
        )

    def prompt_values(self) -> dict[str, Any]:
        """Everything the prompt is built from, as a plain mapping (see prompts.build_prompt)."""
        return {name: getattr(self, name) for name in self.PROMPT_FIELDS}

    def attribute_values(self) -> dict[str, Any]:
        """The filled attributes, keyed by vocabulary name (lists for multi-valued ones)."""
        return {name: getattr(self, name) for name in vocabulary.NAMES if getattr(self, name)}

    def attribute_rows(self) -> list[tuple[str, str]]:
        """(label, value label) pairs of the filled attributes, for display."""
        rows = []
        for attribute in vocabulary.ATTRIBUTES:
            value = getattr(self, attribute.name)
            if not value:
                continue
            keys = value if attribute.multiple else [value]
            rows.append((attribute.label, ", ".join(attribute.label_of(key) or key for key in keys)))
        return rows


for _attribute in vocabulary.ATTRIBUTES:
    if _attribute.multiple:
        _field: models.Field = models.JSONField(default=list, blank=True, verbose_name=_attribute.label)
    else:
        _field = models.CharField(
            max_length=32, blank=True, choices=_attribute.field_choices, verbose_name=_attribute.label
        )
    Character.add_to_class(_attribute.name, _field)


class Batch(models.Model):
    """Jobs queued together in one click: variations of a character, or a quick-generate set of prompts."""

    class Kind(models.TextChoices):
        CHARACTER = "character", "Character variations"
        QUICK = "quick", "Quick generate"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="batches")
    character = models.ForeignKey(
        Character, null=True, blank=True, on_delete=models.CASCADE, related_name="batches"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
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
        if self.character_id:
            return f"Variations of {self.character.name}"
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


def _image_name(_instance: Portrait, _filename: str) -> str:
    return f"portraits/{uuid.uuid4().hex}.png"


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
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE)
    # In the Community gallery: the portrait or its character is public. Denormalised (kept in sync by
    # Character.save and Portrait.save / sync_public_flags) so the community gallery is one index range scan.
    is_public = models.BooleanField(default=False, editable=False)
    like_count = models.PositiveIntegerField(default=0, editable=False)
    task_id = models.CharField(max_length=64, blank=True)
    batch = models.ForeignKey(
        Batch, null=True, blank=True, on_delete=models.SET_NULL, related_name="portraits"
    )
    estimated_cost = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal("0"))
    # The worker holding a running job writes under this token until the lease expires; see mark_running.
    claim_token = models.CharField(max_length=32, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # One entry per attempt: {"attempt", "outcome", "error_kind", "at"}.
    history = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # The daily limits count every attempt on the day it was queued (see generation.usage_today): queued_at
    # is when the current attempt was queued (created, or Retry), same_day_attempts how many earlier
    # attempts queued on that same day count too.
    queued_at = models.DateTimeField(default=timezone.now, editable=False)
    same_day_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

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
        ]

    def __str__(self) -> str:
        return f"Portrait {self.pk} ({self.get_status_display()})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "visibility" in update_fields:
            self.is_public = self.compute_is_public()
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "is_public"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("studio:portrait_detail", args=[self.pk])

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
        return "Portrait"

    @property
    def size_label(self) -> str:
        return f"{self.width}x{self.height}" if self.width else self.parameters.get("size", "")

    @property
    def quality(self) -> str:
        return self.parameters.get("quality", "")

    @classmethod
    def claim(cls, pk: int, lease_seconds: float | None = None) -> tuple[Portrait, str] | None:
        """Claim a queued job for one attempt: (the job, its claim token), or None when it was cancelled or
        already taken. The claim lasts until the lease expires (settings.PORTRAIT_LEASE_SECONDS)."""
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
            status=self.Status.QUEUED,
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
    ) -> bool:
        """Save the generated image as a PNG (parameters in text chunks) with a WebP thumbnail.

        With a claim token the image is kept only if that claim still holds the job (or the job was
        marked interrupted under it), so a job never gets two images; otherwise the files are removed
        and False is returned. `result_parameters` (what the provider reported: a revised prompt, usage)
        are merged into `parameters` in the same conditional update. Raises UnreadableImageError, with
        nothing stored, when the bytes do not decode."""
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
                "parameters": {**self.parameters, **(result_parameters or {})},
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
            stored = bool(rows.update(**fields))
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
        return True

    @property
    def revised_prompt(self) -> str:
        """The prompt as the provider rewrote it before painting (DALL·E 3 and others), if it said."""
        return self.parameters.get("revised_prompt", "")


# What Pillow raises for image bytes it cannot read: a truncated or corrupt image behind a valid signature
# (OSError, SyntaxError from the PNG chunk reader, ...), or a decompression bomb.
IMAGE_DECODE_ERRORS = (
    OSError,
    UnidentifiedImageError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    Image.DecompressionBombError,
)


class UnreadableImageError(ValueError):
    """Image bytes that do not decode; the message is the decoder's, for logs."""


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


@dataclass(frozen=True)
class PortraitFiles:
    png: bytes
    webp: bytes
    width: int
    height: int


def encode_portrait_files(image_bytes: bytes, metadata: dict[str, Any] | None = None) -> PortraitFiles:
    """A portrait's stored files: the PNG (parameters in dali:* iTXt chunks) and its WebP thumbnail.

    A "size" metadata item is written as the decoded image's pixel size (WxH): what was made, whatever size
    or aspect ratio was asked for. Raises one of IMAGE_DECODE_ERRORS for bytes that do not decode."""
    with Image.open(io.BytesIO(image_bytes)) as image:
        image.load()  # decodes every pixel: a corrupt image fails here, before anything is stored
        if metadata and "size" in metadata:
            metadata = {**metadata, "size": f"{image.width}x{image.height}"}
        if image.format == "PNG":
            # Splice the text chunks in: re-encoding a 1024 px PNG costs ~100 ms of worker time per job.
            png = with_text_chunks(image_bytes, metadata or {})
        else:
            png_info = PngInfo()
            for key, value in (metadata or {}).items():
                png_info.add_itxt(f"dali:{key}", str(value))
            buffer = io.BytesIO()
            image.save(buffer, "PNG", pnginfo=png_info, compress_level=6)
            png = buffer.getvalue()
        thumb = image.convert("RGB")
        thumb.thumbnail(
            (settings.THUMBNAIL_SIZE, settings.THUMBNAIL_SIZE), Image.Resampling.LANCZOS, reducing_gap=2.0
        )
        webp = io.BytesIO()
        thumb.save(webp, "WEBP", quality=80, method=4)
        return PortraitFiles(png, webp.getvalue(), *image.size)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def with_text_chunks(png: bytes, metadata: dict[str, Any]) -> bytes:
    """The same PNG with a dali:KEY iTXt chunk (uncompressed UTF-8) per metadata item, right after IHDR."""
    ihdr_end = 8 + 8 + struct.unpack(">I", png[8:12])[0] + 4  # signature, IHDR length+type, data, CRC
    chunks = b"".join(
        # iTXt: keyword NUL, compression flag 0, method 0, empty language NUL, empty translation NUL, text.
        _png_chunk(b"iTXt", f"dali:{key}".encode("latin-1") + b"\0\0\0\0\0" + str(value).encode())
        for key, value in metadata.items()
    )
    return png[:ihdr_end] + chunks + png[ihdr_end:]


def read_png_metadata(data: bytes) -> dict[str, str]:
    """The generation parameters a portrait PNG carries (see Portrait.store_image)."""
    with Image.open(io.BytesIO(data)) as image:
        text = getattr(image, "text", {}) or {}
    return {key.removeprefix("dali:"): value for key, value in text.items() if key.startswith("dali:")}


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


# Files under this folder are shared by many rows (seeded benchmark and demo portraits) and never deleted
# with one of them.
SHARED_FILES_PREFIX = "portraits/shared/"


@receiver(post_delete, sender=Character)
def _character_list_changed(sender: type[Character], instance: Character, **kwargs: Any) -> None:
    get_user_model().characters_changed(instance.owner_id)


@receiver(post_delete, sender=Portrait)
def _delete_portrait_files(sender: type[Portrait], instance: Portrait, **kwargs: Any) -> None:
    for file in (instance.image, instance.thumbnail):
        if file and not file.name.startswith(SHARED_FILES_PREFIX):
            file.storage.delete(file.name)


def _import_source_name(_instance: CharacterImport, _filename: str) -> str:
    return f"imports/{uuid.uuid4().hex}.upload"


class CharacterImport(models.Model):
    """An uploaded import file: previewed (draft), then committed now or by a background task.

    The page polls a running import for progress; the source file survives between preview and commit.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Previewed"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="imports")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    source = models.FileField(upload_to=_import_source_name)
    original_name = models.CharField(max_length=255, blank=True, help_text="Shown to the user; never a path.")
    overrides = models.JSONField(default=dict, blank=True)
    all_or_nothing = models.BooleanField(default=False)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    error_message = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    portraits_queued_at = models.DateTimeField(
        null=True, blank=True, help_text="When portraits of the imported characters were queued (once only)."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["owner", "-created_at"], name="import_owner_created")]

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def percent(self) -> int:
        if self.status == self.Status.SUCCEEDED:
            return 100
        if not self.total_rows:
            return 0
        return min(100, self.processed_rows * 100 // self.total_rows)


@receiver(post_delete, sender=CharacterImport)
def _delete_import_source(sender: type[CharacterImport], instance: CharacterImport, **kwargs: Any) -> None:
    if instance.source:
        instance.source.storage.delete(instance.source.name)


class DepthDataset(models.Model):
    """A named set of depth frames (image lines) ingested from a pixel CSV; see studio/frames.py."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="depth_datasets"
    )
    name = models.CharField(max_length=100)
    width = models.PositiveIntegerField(help_text="Stored frame width in pixels, after resampling.")
    source_width = models.PositiveIntegerField(help_text="Pixel columns in the uploaded CSV.")
    row_count = models.PositiveIntegerField()
    depth_min = models.FloatField()
    depth_max = models.FloatField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name",)
        constraints = [models.UniqueConstraint("owner", "name", name="unique_depth_dataset_name_per_owner")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("studio:frames_dataset", args=[self.name])


class DepthFrameChunk(models.Model):
    """Up to frames.CHUNK_ROWS consecutive frames of a dataset, in depth order.

    Frames are stored as raw arrays (depths: little-endian float64, pixels: uint8 rows of `dataset.width`)
    in chunks rather than one row per frame: a 5,461-frame upload is 22 inserts, and a range read is a few
    rows fetched by the (dataset, depth) bounds.
    """

    dataset = models.ForeignKey(DepthDataset, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    row_count = models.PositiveIntegerField()
    depth_min = models.FloatField()
    depth_max = models.FloatField()
    depths = models.BinaryField()
    pixels = models.BinaryField()

    class Meta:
        ordering = ("dataset", "index")
        constraints = [models.UniqueConstraint("dataset", "index", name="unique_depth_chunk_index")]

    def __str__(self) -> str:
        return f"{self.dataset} chunk {self.index}"


# The style lab (studio/lab/): user-trained image models. PyTorch is imported only by studio.lab.nets.


class Style(models.Model):
    """A named set of the user's own images (5-200) that style models learn from."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="styles")
    name = models.CharField(max_length=80)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="style_unique_name_per_owner")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("studio:style_detail", args=[self.pk])


def _style_image_name(_instance: StyleImage, _filename: str) -> str:
    return f"styles/{uuid.uuid4().hex}.png"


class StyleImage(models.Model):
    """One training image, stored as a 128x128 RGB PNG (centre-cropped and resized on upload)."""

    style = models.ForeignKey(Style, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to=_style_image_name)
    source_portrait = models.ForeignKey(
        Portrait, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    original_name = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return self.original_name or f"Style image {self.pk}"


def _weights_name(_instance: StyleModel, _filename: str) -> str:
    return f"style-models/{uuid.uuid4().hex}.pt"


class StyleModel(models.Model):
    """One training run of a style: its method, progress, loss curve and, once trained, its weights file."""

    class Method(models.TextChoices):
        VAE = "vae", "Variational autoencoder"
        DCGAN = "dcgan", "DCGAN"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Training"
        SUCCEEDED = "succeeded", "Trained"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="style_models")
    style = models.ForeignKey(Style, on_delete=models.CASCADE, related_name="models")
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.VAE)
    image_size = models.PositiveSmallIntegerField(default=64)
    epochs = models.PositiveIntegerField(default=60)
    seed = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    epoch = models.PositiveIntegerField(default=0)
    # One mean loss per finished epoch (the generator's loss for a DCGAN).
    losses = models.JSONField(default=list, blank=True)
    final_loss = models.FloatField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Training time in seconds.")
    device = models.CharField(max_length=20, blank=True)
    weights = models.FileField(upload_to=_weights_name, blank=True)
    cancel_requested = models.BooleanField(default=False)
    error_message = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.get_method_display()} of {self.style} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("studio:style_model_detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def percent(self) -> int:
        return min(100, self.epoch * 100 // max(self.epochs, 1))

    def request_cancel(self) -> bool:
        """Cancel a queued run at once; ask a running one to stop after its current epoch."""
        if self.status == self.Status.QUEUED:
            updated = StyleModel.objects.filter(pk=self.pk, status=self.Status.QUEUED).update(
                status=self.Status.CANCELLED, finished_at=timezone.now()
            )
        else:
            updated = StyleModel.objects.filter(pk=self.pk, status=self.Status.RUNNING).update(
                cancel_requested=True
            )
        self.refresh_from_db()
        return bool(updated)


@receiver(post_delete, sender=StyleImage)
@receiver(post_delete, sender=StyleModel)
def _delete_lab_files(sender: type[models.Model], instance: Any, **kwargs: Any) -> None:
    file = instance.image if isinstance(instance, StyleImage) else instance.weights
    if file:
        file.storage.delete(file.name)
