from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


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
