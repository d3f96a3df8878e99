from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone

from studio.deletion import set_null_in_batches
from studio.portraits.models import Portrait

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
        Portrait, null=True, blank=True, on_delete=set_null_in_batches, related_name="+"
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
