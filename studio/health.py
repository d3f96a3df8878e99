"""Health endpoints for load balancers and orchestrators: /healthz (the process answers) and /readyz.

/readyz checks what a request needs: the database answers `SELECT 1`, and the task worker is alive. A worker
counts as seen when it started or finished a task within READY_WORKER_MAX_AGE seconds, or when no queued
task has waited that long (an idle queue needs no proof of life). Neither endpoint needs a login or writes
a session, and both answer JSON. Anyone may learn whether the studio is ready ("ok" or "unavailable"); which
check failed, and why, is told only to staff or to a caller sending `Authorization: Bearer <READY_TOKEN>`.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging

from django.conf import settings
from django.db import DatabaseError, connections
from django.db.models import Max
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, dict[str, object]] = {"database": _check_database()}
    if checks["database"]["ok"]:
        checks["worker"] = _check_worker()
    else:
        checks["worker"] = {"ok": False, "error": "not checked: the database is unreachable"}
    ready = all(check["ok"] for check in checks.values())
    if not ready:
        failed = [name for name, check in checks.items() if not check["ok"]]
        logger.warning("health.not_ready", extra={"failed": ",".join(failed)})
    body: dict[str, object] = {"status": "ok" if ready else "unavailable"}
    if _may_see_details(request, database_ok=bool(checks["database"]["ok"])):
        body["checks"] = checks
    return JsonResponse(body, status=200 if ready else 503)


def _may_see_details(request: HttpRequest, *, database_ok: bool) -> bool:
    token = settings.READY_TOKEN
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode()):
        return True
    if not database_ok:
        return False  # the session lives in the database
    try:
        return bool(request.user.is_authenticated and request.user.is_staff)
    except DatabaseError:
        return False


def _check_database() -> dict[str, object]:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        # The driver's message names host and port, never the password; the class is enough to act on.
        return {"ok": False, "error": f"database unreachable ({type(error).__name__})"}
    return {"ok": True}


def _check_worker() -> dict[str, object]:
    if "django_tasks_db" not in settings.TASKS["default"]["BACKEND"]:
        return {"ok": True, "detail": "tasks do not need a database worker with this backend"}
    from django_tasks_db.models import DBTaskResult

    max_age = dt.timedelta(seconds=settings.READY_WORKER_MAX_AGE)
    now = timezone.now()
    try:
        last = DBTaskResult.objects.aggregate(started=Max("started_at"), finished=Max("finished_at"))
        oldest = (
            DBTaskResult.objects.ready().order_by("enqueued_at").values("enqueued_at", "run_after").first()
        )
    except DatabaseError as error:
        return {"ok": False, "error": f"task table unreadable ({type(error).__name__})"}
    oldest_waiting = None
    if oldest is not None:
        # A delayed task waits from its run_after; an immediate one (run_after = max) from enqueuing.
        run_after = oldest["run_after"]
        delayed = run_after.year < dt.MAXYEAR and run_after > oldest["enqueued_at"]
        oldest_waiting = run_after if delayed else oldest["enqueued_at"]
    seen = max((value for value in last.values() if value is not None), default=None)
    result: dict[str, object] = {"last_seen": seen.isoformat() if seen else None}
    if seen is not None and now - seen <= max_age:
        return {"ok": True, **result}
    if oldest_waiting is None or now - oldest_waiting <= max_age:
        return {"ok": True, **result, "detail": "no task is waiting"}
    waited = round((now - oldest_waiting).total_seconds())
    return {
        "ok": False,
        **result,
        "error": f"no worker: a task has waited {waited} s (limit {settings.READY_WORKER_MAX_AGE} s)",
    }
