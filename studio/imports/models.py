from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone


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
    # A card's (PNG or CHARX) import record, parsed once at upload: the preview page never parses it again.
    card_record = models.JSONField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    portraits_queued_at = models.DateTimeField(
        null=True, blank=True, help_text="When portraits of the imported characters were queued (once only)."
    )
    # The batch those portraits were queued in, so the whole run can be cancelled at once.
    portrait_batch = models.ForeignKey(
        "studio.Batch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
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
