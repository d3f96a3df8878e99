from __future__ import annotations

import base64
import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from studio.access import get_owned_or_404
from studio.frames import ingest
from studio.frames import render as rendering
from studio.frames.forms import FrameUploadForm
from studio.frames.models import DepthDataset
from studio.throttle import throttle

LIST_TEMPLATE = "studio/frames/dataset_list.html"
DETAIL_TEMPLATE = "studio/frames/dataset_detail.html"
# The viewer's messages name the bounds as its labels do, not as the query parameters.
VIEWER_BOUNDS = rendering.BoundNames(low="Depth from", high="Depth to")


@login_required
@require_GET
def dataset_list(request: HttpRequest) -> HttpResponse:
    template_name = LIST_TEMPLATE + "#dataset-list" if request.htmx else LIST_TEMPLATE
    return render(request, template_name, _list_context(request, FrameUploadForm()))


@login_required
@require_POST
@throttle("import")
def upload(request: HttpRequest) -> HttpResponse:
    form = FrameUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            result = ingest.ingest_csv(
                request.user,
                form.cleaned_data["dataset"],
                ingest.read_upload(form.cleaned_data["file"]),
                width=form.cleaned_data["width"],
            )
        except ingest.FrameError as error:
            form.add_error("file", error.message)
        else:
            dataset = result.dataset
            verb = "Uploaded" if result.created else "Replaced"
            notice = f"{verb} {dataset.name}: {dataset.row_count:,} frames, {dataset.width} pixels wide."
            if not request.htmx:
                messages.success(request, notice)
                return redirect(dataset)
            response = render(
                request,
                LIST_TEMPLATE + "#upload-form",
                {"form": FrameUploadForm(), "uploaded": dataset, "notice": notice},
            )
            return trigger_client_event(response, "framesChanged")
    if request.htmx:
        # 200 so that HTMX swaps the message into the form (it leaves 4xx responses unswapped).
        return render(request, LIST_TEMPLATE + "#upload-form", {"form": form})
    return render(request, LIST_TEMPLATE, _list_context(request, form), status=400)


@login_required
@require_GET
@throttle("frames_render")
def dataset_detail(request: HttpRequest, name: str) -> HttpResponse:
    dataset = get_owned_or_404(request, DepthDataset, name=name)
    colormap = (request.GET.get("colormap") or "").strip() or rendering.DEFAULT_COLORMAP
    context: dict[str, object] = {
        "dataset": dataset,
        "colormap_options": _colormap_options(colormap if colormap in rendering.colormap_names() else ""),
        "colormap_count": len(rendering.colormap_names()),
        "colormap_sprite_url": reverse("studio:frames_colormap_swatches")
        + f"?v={rendering.colormap_swatches_version()}",
        "colormap_index": rendering.colormap_index(colormap),
        "max_rows": rendering.max_range_rows_setting(),
        "colormap": colormap,
        "depth_min": request.GET.get("depth_min", ""),
        "depth_max": request.GET.get("depth_max", ""),
    }
    try:
        query = rendering.parse_range_query(request.GET, VIEWER_BOUNDS)
        depth_min, depth_max = query.depth_min, query.depth_max
        if depth_min is None and depth_max is None:
            # The first view shows as many frames as one request may hold.
            depth_min, depth_max = rendering.first_depths(dataset, rendering.max_range_rows_setting())
        depth_min = dataset.depth_min if depth_min is None else depth_min
        depth_max = dataset.depth_max if depth_max is None else depth_max
        loaded = rendering.load_frames(dataset, depth_min, depth_max, names=VIEWER_BOUNDS)
    except rendering.UnknownColormap:
        context["error"] = f"Unknown colormap {colormap!r}. Choose one from the Colormap list."
    except ingest.FrameError as error:
        context["error"] = error.message
    else:
        bounds = {"depth_min": ingest.format_depth(depth_min), "depth_max": ingest.format_depth(depth_max)}
        image_query = QueryDict(mutable=True)
        image_query.update({**bounds, "colormap": query.colormap})
        colorbar = base64.b64encode(rendering.colorbar_png(query.colormap)).decode("ascii")
        context.update(
            bounds,
            colormap=query.colormap,
            count=len(loaded),
            ticks=rendering.depth_ticks(loaded.depths),
            image_url=reverse("studio:frames_plot", args=[dataset.name]) + "?" + image_query.urlencode(),
            plot_height=rendering.PLOT_HEIGHT,
            colorbar_url=f"data:image/png;base64,{colorbar}",
            colorbar_ticks=rendering.colorbar_ticks(),
        )
    template_name = DETAIL_TEMPLATE + "#frames-view" if request.htmx else DETAIL_TEMPLATE
    return render(request, template_name, context)


@login_required
@require_GET
@throttle("frames_render")
def dataset_plot(request: HttpRequest, name: str) -> HttpResponse:
    """The viewer's image: the frames at the plot's aspect (rendering.render_plot_png), not one pixel each."""
    dataset = get_owned_or_404(request, DepthDataset, name=name)
    try:
        query = rendering.parse_range_query(request.GET, VIEWER_BOUNDS)
        loaded = rendering.load_frames(dataset, query.depth_min, query.depth_max, names=VIEWER_BOUNDS)
    except ingest.FrameError as error:
        return _text(error.message, error.status)
    if not len(loaded):
        return _text("No frames in this depth range.", 404)
    return HttpResponse(rendering.render_plot_png(loaded.pixels, query.colormap), content_type="image/png")


def _text(message: str, status: int) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


@require_GET
@cache_control(public=True, max_age=86400)
def colormap_swatches(request: HttpRequest) -> HttpResponse:
    """Every colormap's gradient, one row each: the swatches of the viewer's colormap picker."""
    return HttpResponse(rendering.colormap_swatches_png(), content_type="image/png")


@login_required
@require_POST
def delete(request: HttpRequest, name: str) -> HttpResponse:
    dataset = get_owned_or_404(request, DepthDataset, name=name)
    dataset.delete()
    messages.success(request, f"Deleted {dataset.name}.")
    return redirect("studio:frames_list")


def _list_context(request: HttpRequest, form: FrameUploadForm) -> dict[str, object]:
    return {"form": form, "datasets": DepthDataset.objects.filter(owner=request.user)}


@functools.lru_cache(maxsize=64)
def _colormap_options(checked: str) -> str:
    """The picker's grouped radio buttons with `checked` chosen: the same for every dataset, and rendering
    182 options is most of the page's template time."""
    context = {"colormap_groups": rendering.colormap_groups(), "colormap": checked}
    return render_to_string(DETAIL_TEMPLATE + "#colormap-options", context)
