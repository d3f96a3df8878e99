"""Error handlers (site_config/urls.py): the JSON API answers every error in JSON, pages get the templates.

An API client parses {"error": "..."} for every status, also for a URL that matches no endpoint, a body
over DATA_UPLOAD_MAX_MEMORY_SIZE (413) and a crash (500: a dropped database connection, say). Pages keep
Django's own handlers, which render templates/400.html, 403.html, 404.html and 500.html.

Two more, in the site's layout too:
- csrf_failure (settings.CSRF_FAILURE_VIEW): a form whose CSRF token no longer matches (the session expired,
  the page was open across a login or logout) gets templates/403_csrf.html, which says to reload and try
  again, instead of Django's bare "CSRF verification failed" page; an HTMX request gets the sentence alone
  (app.js shows it as a toast).
- FriendlyDebug404Middleware: with DEBUG on (`make run`), Django answers an Http404 with its technical page;
  an Http404 raised by a view (an object that was deleted, or is not yours) gets the site's 404 page instead,
  as in production, with the exception's text as a note for the developer. A URL that matches no pattern
  keeps Django's technical page, whose list of URL patterns is what a developer who mistyped one needs.
  settings.FRIENDLY_404_IN_DEBUG (env FRIENDLY_404_IN_DEBUG, default on) switches it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.html import format_html
from django.views import defaults

CSRF_FAILED = (
    "Your session expired or the form was open too long (or you logged in or out in another tab), so it "
    "was not sent. Reload the page and try again."
)

API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse({"error": "The request body is too large."}, status=413)
        return JsonResponse({"error": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"error": "You do not have permission to do that."}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"error": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    # Touches nothing that may be what failed (database, templates): a fixed JSON body.
    if is_api(request):
        return JsonResponse({"error": "Something went wrong on the server. Try again later."}, status=500)
    return defaults.server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if is_api(request):
        return JsonResponse({"error": "CSRF token missing or incorrect."}, status=403)
    if getattr(request, "htmx", False):
        return HttpResponse(
            format_html('<div class="alert alert-warning" data-error-message>{}</div>', CSRF_FAILED),
            status=403,
        )
    context = {"message": CSRF_FAILED, "reason": reason if settings.DEBUG else ""}
    return render(request, "403_csrf.html", context, status=403)


class FriendlyDebug404Middleware:
    """With DEBUG on, the site's 404 page for an Http404 raised by a view (see the module's docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # Called for exceptions raised by views only: an unresolved URL (Resolver404) never gets here.
        if not (settings.DEBUG and getattr(settings, "FRIENDLY_404_IN_DEBUG", True)):
            return None
        if not isinstance(exception, Http404):
            return None
        if is_api(request):
            return page_not_found(request, exception)
        context = {"debug_note": f"{type(exception).__name__}: {exception}" if str(exception) else ""}
        return render(request, "404.html", context, status=404)
