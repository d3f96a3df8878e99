from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.messages import get_messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string


class HtmxMessagesMiddleware:
    """Deliver Django messages to HTMX requests as toasts, through an out-of-band swap.

    Full pages show messages from base.html; partial responses would otherwise leave them queued until the
    next full page, out of context.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            not getattr(request, "htmx", False)
            or "HX-Redirect" in response
            or "HX-Location" in response
            or response.streaming
            or not response.get("Content-Type", "").startswith("text/html")
            or 300 <= response.status_code < 400
        ):
            return response
        storage = get_messages(request)
        if not storage:
            return response
        toasts = render_to_string("base.html#toasts", {"messages": storage}, request=request)
        response.content += f'<div id="toasts" hx-swap-oob="beforeend">{toasts}</div>'.encode()
        return response


class RequestSizeLimitMiddleware:
    """Refuse a request whose declared body is over MAX_REQUEST_BYTES before anything reads it (413).

    Django streams uploads to temporary files, so a large body costs disk and time rather than memory, but
    nothing a user may send needs more than the largest upload limit: refusing early keeps a stranger from
    filling the disk or holding a worker. The API answers JSON; pages answer the site's 413 page.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.MAX_REQUEST_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            message = (
                f"The request is {declared / 1_048_576:.1f} MB; the most this studio accepts in one request "
                f"is {limit / 1_048_576:.0f} MB (MAX_REQUEST_BYTES)."
            )
            if request.path.startswith("/api/"):
                return JsonResponse({"error": message}, status=413)
            return render(request, "413.html", {"message": message}, status=413)
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """Send settings.PERMISSIONS_POLICY: the browser features (camera, geolocation, ...) no page needs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
