"""The scale-out option: the same task through django-tasks-rq on Redis, run by an RQ burst worker."""

from __future__ import annotations

import pytest

from studio.portraits.generation import queue_character_portrait
from studio.portraits.models import Portrait
from studio.tests.factories import CharacterFactory

django_rq = pytest.importorskip("django_rq", reason='the RQ backend is optional: pip install ".[rq]"')
pytest.importorskip("django_tasks_rq")

# Database 13 keeps the test's queue apart from anything else using the local Redis.
REDIS_URL = "redis://127.0.0.1:6379/13"


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except redis.exceptions.RedisError:
        return False


pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not _redis_up(), reason="no Redis at 127.0.0.1:6379"),
]


@pytest.fixture
def rq_backend(settings):
    queues = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 60}}
    settings.RQ_QUEUES = queues
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    queue = django_rq.get_queue("default")
    queue.empty()
    yield queue
    queue.empty()


def test_it_paints_a_portrait_through_the_rq_backend(user, rq_backend):
    from django_tasks_rq import Job
    from rq import SimpleWorker

    portrait = queue_character_portrait(CharacterFactory(owner=user), size="64x64")
    assert rq_backend.count == 1
    portrait.refresh_from_db()
    assert portrait.task_id and portrait.status == "queued"

    # SimpleWorker runs the job in this process (no fork), so it sees the test database.
    worker = SimpleWorker([rq_backend], connection=rq_backend.connection, job_class=Job)
    assert worker.work(burst=True)
    portrait = Portrait.objects.get(pk=portrait.pk)
    assert portrait.status == "succeeded"
    assert portrait.attempts == 1
    assert rq_backend.count == 0
