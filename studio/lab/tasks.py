"""The style-model training task: queued by styles.start_training, run by the worker.

This module loads without PyTorch; run_training imports it when it runs."""

from __future__ import annotations

import logging

import numpy as np
from django.core.files.base import ContentFile
from django.utils import timezone
from django_tasks import task
from PIL import Image

from studio.lab import LATENT_DIM
from studio.lab.models import Style, StyleModel

logger = logging.getLogger("studio.lab.styles")


@task()
def train_style_model(run_id: int) -> str:
    return run_training(run_id)


def enqueue_training(run: StyleModel) -> None:
    result = train_style_model.enqueue(run.pk)
    StyleModel.objects.filter(pk=run.pk).update(task_id=str(result.id)[:64])


def load_training_images(style: Style, size: int) -> np.ndarray:
    """The style's images as float32 (N, 3, size, size) in [0, 1]."""
    arrays = []
    for item in style.images.all():
        with item.image.open("rb") as file, Image.open(file) as image:
            resized = image.convert("RGB").resize((size, size), Image.Resampling.LANCZOS)
            arrays.append(np.asarray(resized, dtype=np.float32).transpose(2, 0, 1) / 255.0)
    return np.stack(arrays) if arrays else np.zeros((0, 3, size, size), np.float32)


def run_training(run_id: int) -> str:
    """The task body: train, reporting each epoch to the row, stopping when the user cancels."""
    import torch

    from studio.lab.nets import NetConfig, save_bytes
    from studio.lab.training import TrainingCancelledError, train

    claimed = StyleModel.objects.filter(pk=run_id, status=StyleModel.Status.QUEUED).update(
        status=StyleModel.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return "skipped"
    run = StyleModel.objects.select_related("style").get(pk=run_id)
    losses: list[float] = []

    def on_epoch(epoch: int, loss: float) -> bool:
        losses.append(round(loss, 6))
        StyleModel.objects.filter(pk=run_id).update(epoch=epoch, losses=losses)
        return not StyleModel.objects.filter(pk=run_id, cancel_requested=True).exists()

    try:
        images = torch.from_numpy(load_training_images(run.style, run.image_size))
        config = NetConfig(method=run.method, image_size=run.image_size, latent_dim=LATENT_DIM)
        result = train(images, config, epochs=run.epochs, seed=run.seed, on_epoch=on_epoch)
    except TrainingCancelledError:
        StyleModel.objects.filter(pk=run_id).update(
            status=StyleModel.Status.CANCELLED, finished_at=timezone.now()
        )
        return "cancelled"
    except Exception as error:
        logger.exception("style model %s failed", run_id)
        StyleModel.objects.filter(pk=run_id).update(
            status=StyleModel.Status.FAILED, error_message=str(error)[:500], finished_at=timezone.now()
        )
        return "failed"
    metadata = {
        "method": run.method,
        "epochs": run.epochs,
        "final_loss": result.losses[-1],
        "duration": result.duration,
        "image_size": run.image_size,
        "images": len(images),
        "seed": run.seed,
    }
    run.weights.save("weights.pt", ContentFile(save_bytes(result.net, metadata)), save=False)
    StyleModel.objects.filter(pk=run_id).update(
        weights=run.weights.name,
        status=StyleModel.Status.SUCCEEDED,
        final_loss=result.losses[-1],
        duration=result.duration,
        device=result.device,
        finished_at=timezone.now(),
    )
    return "succeeded"
