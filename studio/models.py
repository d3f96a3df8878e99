from __future__ import annotations

import io
import uuid
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import models
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from . import vocabulary


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
        loaded = getattr(self, "_loaded_prompt_state", None)
        if loaded is not None and loaded != self.prompt_state():
            self.version += 1
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "version"}
        super().save(*args, **kwargs)
        self._loaded_prompt_state = self.prompt_state()

    def get_absolute_url(self) -> str:
        return reverse("studio:character_detail", args=[self.pk])

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Character:
        instance = super().from_db(db, field_names, values)
        # Only a fully loaded row can be compared; reading deferred fields here would cost a query each.
        loaded_all = set(cls.PROMPT_FIELDS).issubset(field_names)
        instance._loaded_prompt_state = instance.prompt_state() if loaded_all else None
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

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portraits")
    character = models.ForeignKey(
        Character, null=True, blank=True, on_delete=models.CASCADE, related_name="portraits"
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
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["owner", "-created_at", "-id"], name="portrait_owner_created"),
            models.Index(fields=["character", "-created_at", "-id"], name="portrait_character_created"),
            models.Index(fields=["owner", "status"], name="portrait_owner_status"),
        ]

    def __str__(self) -> str:
        return f"Portrait {self.pk} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("studio:portrait_detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def size_label(self) -> str:
        return f"{self.width}x{self.height}" if self.width else self.parameters.get("size", "")

    def mark_running(self) -> bool:
        """Claim a queued job; False when it was cancelled or already taken."""
        updated = Portrait.objects.filter(pk=self.pk, status=self.Status.QUEUED).update(
            status=self.Status.RUNNING, started_at=timezone.now(), attempts=models.F("attempts") + 1
        )
        if updated:
            self.refresh_from_db(fields=["status", "started_at", "attempts"])
        return bool(updated)

    def mark_failed(self, kind: str, message: str) -> None:
        self.status = self.Status.FAILED
        self.error_kind = kind
        self.error_message = message
        self.finished_at = timezone.now()
        self.save(update_fields=["status", "error_kind", "error_message", "finished_at"])

    def store_image(self, image_bytes: bytes, metadata: dict[str, Any] | None = None) -> None:
        """Save the generated image as a PNG (parameters in text chunks) with a WebP thumbnail."""
        with Image.open(io.BytesIO(image_bytes)) as image:
            image.load()
            self.width, self.height = image.size
            png_info = PngInfo()
            for key, value in (metadata or {}).items():
                png_info.add_itxt(f"dali:{key}", str(value))
            png = io.BytesIO()
            image.save(png, "PNG", pnginfo=png_info, compress_level=6)
            thumb = image.convert("RGB")
            thumb.thumbnail((settings.THUMBNAIL_SIZE, settings.THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
            webp = io.BytesIO()
            thumb.save(webp, "WEBP", quality=80, method=4)
        self.image.save("portrait.png", ContentFile(png.getvalue()), save=False)
        self.thumbnail.save("thumb.webp", ContentFile(webp.getvalue()), save=False)
        self.file_size = png.tell()
        self.status = self.Status.SUCCEEDED
        self.error_kind = ""
        self.error_message = ""
        self.finished_at = timezone.now()
        self.save()


def read_png_metadata(data: bytes) -> dict[str, str]:
    """The generation parameters a portrait PNG carries (see Portrait.store_image)."""
    with Image.open(io.BytesIO(data)) as image:
        text = getattr(image, "text", {}) or {}
    return {key.removeprefix("dali:"): value for key, value in text.items() if key.startswith("dali:")}


@receiver(post_delete, sender=Portrait)
def _delete_portrait_files(sender: type[Portrait], instance: Portrait, **kwargs: Any) -> None:
    for file in (instance.image, instance.thumbnail):
        if file:
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
