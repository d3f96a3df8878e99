"""Which queued job a free worker runs next: fair between users, within the providers' concurrency limits.

A portrait's task does not run "its" portrait: every task is a turn of one worker, and the turn claims the
job chosen here (see docs/queue.md, "Fair scheduling"):

1. Only claimable jobs: queued, their owner's queue not paused, their provider under its PROVIDER_CONCURRENCY
   limit (jobs counted RUNNING for that provider, across every worker).
2. The owner with the fewest running jobs, then the one whose most recent job started longest ago (never
   served first): round robin by user, so a user with 500 queued jobs delays another user's single job by at
   most the job each busy worker is finishing.
3. That owner's own order: queue_position ("move to front"), then queued_at, then id.

Choosing and claiming happen in one short transaction that only one worker at a time may run: on PostgreSQL
a transaction-level advisory lock, on SQLite the IMMEDIATE transaction's write lock (settings.py). So two
workers never see the same job as next, and never both take a provider's last free slot; the claim itself is
still the conditional UPDATE of Portrait.claim (a cancel may win the race, then the next job is chosen).
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, QuerySet

from studio.portraits.models import Portrait

# Any fixed number unique to this use of pg_advisory_xact_lock.
CLAIM_LOCK_KEY = 0x0DA11_0001


def full_providers() -> list[str]:
    """The providers with a concurrency limit that are running as many jobs as it allows."""
    limits = settings.PROVIDER_CONCURRENCY
    if not limits:
        return []
    running = dict(
        Portrait.objects.filter(status=Portrait.Status.RUNNING, provider__in=list(limits))
        .values_list("provider")
        .annotate(count=Count("id"))
        .order_by()
    )
    return [provider for provider, limit in limits.items() if running.get(provider, 0) >= limit]


def _next_job_sql(full: list[str]) -> tuple[str, list[object]]:
    """One statement: the next claimable job of the owner who is owed a turn.

    'queued' is written as a literal (not a parameter) so that both databases can use the partial index of
    queued jobs (portrait_queued_order), also with PostgreSQL's server-side prepared statements."""
    portrait = Portrait._meta.db_table
    user = Portrait._meta.get_field("owner").related_model._meta.db_table
    quote = connection.ops.quote_name
    skip = ""
    if full:
        skip = f" AND {{alias}}.provider NOT IN ({', '.join(['%s'] * len(full))})"
    owner_skip, job_skip = skip.format(alias="q"), skip.format(alias="p")
    # Only quoted table names and placeholders are interpolated; every value is a parameter.
    sql = f"""
        SELECT p.id FROM {quote(portrait)} p
        WHERE p.status = 'queued'{job_skip} AND p.owner_id = (
            SELECT u.id FROM {quote(user)} u
            WHERE u.queue_paused = %s
              AND u.id IN (SELECT q.owner_id FROM {quote(portrait)} q WHERE q.status = 'queued'{owner_skip})
            ORDER BY
              (SELECT COUNT(*) FROM {quote(portrait)} r WHERE r.owner_id = u.id AND r.status = 'running'),
              (SELECT MAX(s.started_at) FROM {quote(portrait)} s WHERE s.owner_id = u.id) ASC NULLS FIRST,
              u.id
            LIMIT 1
        )
        ORDER BY p.queue_position, p.queued_at, p.id
        LIMIT 1
    """  # noqa: S608
    return sql, [*full, False, *full]


def next_job_id() -> int | None:
    """The job the next free worker should run (see the module docstring); None when none is claimable."""
    sql, params = _next_job_sql(full_providers())
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def _serialise_claims() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CLAIM_LOCK_KEY])
    # SQLite: the transaction began IMMEDIATE (settings.py), so it already holds the database's write lock.


def claim_next(task_id: str = "", lease_seconds: float | None = None) -> tuple[Portrait, str] | None:
    """Claim the next job fairly for one attempt: (the job, its claim token) as Portrait.claim gives them,
    or None when no job is claimable now (none queued, the owners paused, or their providers full)."""
    while True:
        with transaction.atomic():
            _serialise_claims()
            pk = next_job_id()
            if pk is None:
                return None
            claimed = Portrait.claim(pk, lease_seconds, task_id=task_id)
        if claimed is not None:
            return claimed
        # Cancelled (or deleted) between the choice and the claim: that job left the queue, choose again.


def claimable_jobs() -> QuerySet[Portrait]:
    """Every job a worker could claim now (queued, owner not paused, provider not full), in no order."""
    return Portrait.objects.filter(status=Portrait.Status.QUEUED, owner__queue_paused=False).exclude(
        provider__in=full_providers()
    )


def has_claimable_jobs(provider: str) -> bool:
    """Whether jobs for this provider wait in a queue that is not paused (a freed slot has work to do)."""
    return Portrait.objects.filter(
        status=Portrait.Status.QUEUED, provider=provider, owner__queue_paused=False
    ).exists()
