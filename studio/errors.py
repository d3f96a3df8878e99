"""Error handlers (site_config/urls.py): the JSON API answers every error in JSON, pages get the templates.

An API client parses {"error": "..."} for every status, also for a URL that matches no endpoint, a body
over DATA_UPLOAD_MAX_MEMORY_SIZE (413) and a crash (500: a dropped database connection, say). Pages keep
Django's own handlers, which render templates/400.html, 403.html, 404.html and 500.html.
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

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
