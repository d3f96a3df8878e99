"""Per-user throttles for the expensive endpoints, counted in the shared cache (settings.CACHES).

One mechanism everywhere: `@throttle("preview")` on a view counts the caller's requests in the current
minute under settings.THROTTLE_RATES["preview"] (0 switches it off) and answers a 429 with `Retry-After`
and a message once the limit is passed: JSON under /api/, a small HTML partial for HTMX (app.js shows it as
a toast), else templates/429.html in the site's layout. Signed-in callers are counted per user, anonymous
ones per address.

The counter is a fixed one-minute window: `cache.add` then `cache.incr`, atomic on Redis; the database
cache may undercount a little under concurrent requests, which only makes the limit slightly softer.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.html import format_html

WINDOW_SECONDS = 60

# What each throttled scope is, for the message.
WHAT = {
    "preview": "previews",
    "pattern": "pattern renders",
    "frames_render": "depth-frame renders",
    "import": "imports",
    "generate": "generation requests",
}


def _caller(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    from allauth.core.internal.ratelimit import get_ip

    return f"ip:{get_ip(request)}"


def hit(request: HttpRequest, scope: str) -> int:
    """Count one request; 0 when it is allowed, else the seconds until the caller may try again."""
    limit = settings.THROTTLE_RATES.get(scope, 0)
    if not limit:
        return 0
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    key = f"throttle:{scope}:{_caller(request)}:{window}"
    cache.add(key, 0, timeout=WINDOW_SECONDS + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: this request opens the window
        cache.set(key, 1, timeout=WINDOW_SECONDS + 5)
        count = 1
    if count <= limit:
        return 0
    return max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))


def message(scope: str, retry_after: int) -> str:
    limit = settings.THROTTLE_RATES.get(scope, 0)
    what = WHAT.get(scope, "requests")
    return f"Too many {what}: the limit is {limit} a minute. Try again in {retry_after} s."


def too_many_requests(request: HttpRequest, text: str, retry_after: int) -> HttpResponse:
    """The 429 answer, in the form the caller reads: JSON for the API, a partial for HTMX, else a page."""
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": text, "retry_after": retry_after}, status=429)
    elif getattr(request, "htmx", False):
        response = HttpResponse(
            format_html('<div class="alert alert-warning" role="alert" data-throttled>{}</div>', text),
            status=429,
        )
    else:
        response = render(request, "429.html", {"message": text}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def throttle(
    scope: str, *, methods: tuple[str, ...] = ()
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Limit a view to settings.THROTTLE_RATES[scope] requests a minute per caller (only `methods`' when
    given: a page that shows a form on GET and does the work on POST counts the POSTs)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            retry_after = 0 if methods and request.method not in methods else hit(request, scope)
            if retry_after:
                return too_many_requests(request, message(scope, retry_after), retry_after)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
