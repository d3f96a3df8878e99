from __future__ import annotations

from django_tasks import task

from .generation import maybe_recover_expired_jobs, run_portrait_job


@task()
def generate_portrait(portrait_id: int) -> str:
    # Each worker also sweeps for jobs lost by a dead worker (throttled; see generation.py).
    maybe_recover_expired_jobs()
    return run_portrait_job(portrait_id)
