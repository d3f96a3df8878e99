from __future__ import annotations

from django_tasks import task

from .generation import run_portrait_job


@task()
def generate_portrait(portrait_id: int) -> str:
    return run_portrait_job(portrait_id)
