from __future__ import annotations

from django_tasks import task

from .styles import run_training


@task()
def train_style_model(run_id: int) -> str:
    return run_training(run_id)
