"""JSON API: function views returning JsonResponse; errors are {"error": "..."} with a 4xx, never a 500.

Authentication is the session (browser, CSRF-checked on POST) or `Authorization: Bearer <token>` with the
token from the account page (accounts.models.ApiToken).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from accounts.models import ApiToken
from studio.access import get_owned_or_404
from studio.frames import ingest
from studio.frames import render as rendering
from studio.frames.forms import FrameUploadForm
from studio.frames.models import DepthDataset
from studio.throttle import throttle

View = Callable[..., HttpResponse]


def error_response(message: str, status: int, **extra: Any) -> JsonResponse:
    response = JsonResponse({"error": message, **extra}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def api_endpoint(*methods: str) -> Callable[[View], View]:
    """Method check, session-or-token authentication, CSRF for sessions, JSON errors."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response = error_response(f"Method {request.method} is not allowed here.", 405)
                response["Allow"] = ", ".join(methods)
                return response
            authorization = request.headers.get("Authorization")
            if authorization is not None:
                # CSRF rides on credentials a browser attaches by itself (cookies). It never attaches an
                # Authorization header to a cross-site request, so a request that carries a token was sent on
                # purpose by someone holding it: no CSRF check. Without the header the request is judged
                # as a session request below, CSRF check included, so a cookie alone never skips it.
                scheme, _, raw = authorization.partition(" ")
                if scheme.lower() != "bearer" or not raw.strip():
                    return error_response("The Authorization header must be 'Bearer <token>'.", 401)
                user = ApiToken.authenticate(raw.strip())
                if user is None:
                    return error_response("The API token is not valid.", 401)
                request.user = user
            elif not request.user.is_authenticated:
                return error_response(
                    "Authentication required: log in, or send 'Authorization: Bearer <token>' with a token "
                    f"from {reverse('account_api_token')}.",
                    401,
                )
            elif _csrf_rejects(request):
                return error_response(
                    "CSRF token missing or incorrect (session requests need X-CSRFToken).", 403
                )
            try:
                return view(request, *args, **kwargs)
            except Http404:
                return error_response("Not found.", 404)
            except rendering.UnknownColormap as error:
                return error_response(error.message, error.status, valid_colormaps=rendering.colormap_names())
            except ingest.FrameError as error:
                extra = {"line": error.line} if error.line is not None else {}
                return error_response(error.message, error.status, **extra)

        # Exempt only for Bearer-token callers: a browser never attaches that header on its own, so a forged
        # cross-site request cannot carry it and CSRF does not apply. Session (cookie) requests still get
        # Django's CSRF check, in `wrapped` (_csrf_rejects); tests cover both.
        return csrf_exempt(wrapped)

    return decorate


def _csrf_rejects(request: HttpRequest) -> bool:
    """Django's own CSRF check (safe methods pass), run for a session request to a csrf_exempt view."""
    check = CsrfViewMiddleware(lambda _request: HttpResponse())
    check.process_request(request)
    return check.process_view(request, lambda _request: HttpResponse(), (), {}) is not None


def dataset_json(dataset: DepthDataset) -> dict[str, Any]:
    return {
        "name": dataset.name,
        "rows": dataset.row_count,
        "width": dataset.width,
        "source_width": dataset.source_width,
        "depth_min": dataset.depth_min,
        "depth_max": dataset.depth_max,
        "created_at": dataset.created_at,
        "updated_at": dataset.updated_at,
        "images_url": reverse("api:frames_images", args=[dataset.name]),
        "png_url": reverse("api:frames_image_png", args=[dataset.name]),
    }


@api_endpoint("GET")
def frames_datasets(request: HttpRequest) -> HttpResponse:
    datasets = DepthDataset.objects.filter(owner=request.user)
    return JsonResponse({"datasets": [dataset_json(dataset) for dataset in datasets]})


@api_endpoint("POST")
@throttle("import")
def frames_upload_csv(request: HttpRequest) -> HttpResponse:
    form = FrameUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        return error_response(f"{field}: {' '.join(errors)}", 400, fields=form.errors)
    result = ingest.ingest_csv(
        request.user,
        form.cleaned_data["dataset"],
        ingest.read_upload(form.cleaned_data["file"]),
        width=form.cleaned_data["width"],
    )
    return JsonResponse(
        {**dataset_json(result.dataset), "replaced": not result.created},
        status=201 if result.created else 200,
    )


@api_endpoint("GET")
@throttle("frames_render")
def frames_images(request: HttpRequest, dataset: str) -> HttpResponse:
    found, query, loaded = _load(request, dataset)
    image = None
    if len(loaded):
        png = rendering.render_png(loaded.pixels, query.colormap)
        image = {"width": found.width, "height": len(loaded), "png": _base64(png)}
    rows = rendering.encode_row_pngs_base64(rendering.colorize(loaded.pixels, query.colormap))
    return JsonResponse(
        {
            "dataset": found.name,
            "colormap": query.colormap,
            "depth_min": query.depth_min if query.depth_min is not None else found.depth_min,
            "depth_max": query.depth_max if query.depth_max is not None else found.depth_max,
            "count": len(loaded),
            "width": found.width,
            "image": image,
            "frames": [
                {"depth": depth, "png": png} for depth, png in zip(loaded.depths.tolist(), rows, strict=True)
            ],
        }
    )


@api_endpoint("GET")
@throttle("frames_render")
def frames_image_png(request: HttpRequest, dataset: str) -> HttpResponse:
    _found, query, loaded = _load(request, dataset)
    if not len(loaded):
        return error_response("No frames in this depth range.", 404)
    return HttpResponse(rendering.render_png(loaded.pixels, query.colormap), content_type="image/png")


def _load(request: HttpRequest, name: str) -> tuple[DepthDataset, rendering.RangeQuery, rendering.Frames]:
    dataset = get_owned_or_404(request, DepthDataset, name=name)
    query = rendering.parse_range_query(request.GET)
    return dataset, query, rendering.load_frames(dataset, query.depth_min, query.depth_max)


def _base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
