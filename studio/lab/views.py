"""The art lab: procedural patterns (always available) and style models (with the optional lab extra)."""

from __future__ import annotations

import base64
import secrets
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from studio import lab
from studio.access import get_owned_or_404, parse_id
from studio.lab import patterns, styles
from studio.lab.forms import PatternForm, StyleForm, StyleGenerateForm, StyleInterpolateForm, StyleTrainForm
from studio.lab.models import Style, StyleImage, StyleModel
from studio.portraits.generation import QuotaExceededError
from studio.portraits.models import Portrait
from studio.throttle import throttle

PATTERNS_TEMPLATE = "studio/lab/patterns.html"
# The preview's longer side, in pixels: the page offers each as a srcset candidate and the browser loads the
# one that fits the displayed size and the screen's density (a phone's 3x screen needs the largest).
PREVIEW_SIDES = (512, 768, 1024)
STYLES_TEMPLATE = "studio/lab/styles.html"
STYLE_PREVIEW_IMAGES = 4  # per style on the Style lab page
STYLE_TEMPLATE = "studio/lab/style.html"
STYLE_MODEL_TEMPLATE = "studio/lab/style_model.html"
MAP_SIZE = 560


@login_required
@require_GET
def patterns_page(request: HttpRequest) -> HttpResponse:
    form = PatternForm.from_query(request.GET)
    context: dict[str, Any] = {"form": form, "preview_query": ""}
    if form.is_valid():
        context.update(preview_context(form.options()))
    template_name = PATTERNS_TEMPLATE + "#preview" if request.htmx else PATTERNS_TEMPLATE
    return render(request, template_name, context)


def preview_context(options: patterns.PatternOptions) -> dict[str, Any]:
    """The preview's URL query and its srcset: one candidate per distinct size (a small pattern has one)."""
    query = urlencode(options.as_dict())
    url = reverse("studio:pattern_preview") + "?" + query
    widths = {options.scaled(side).width: side for side in reversed(PREVIEW_SIDES)}  # the smallest side wins
    srcset = ", ".join(f"{url}&side={side} {width}w" for width, side in sorted(widths.items()))
    return {"preview_query": query, "preview_srcset": srcset}


@login_required
@require_GET
@throttle("pattern")
def pattern_preview(request: HttpRequest) -> HttpResponse:
    form = PatternForm.from_query(request.GET)
    if not form.is_valid():
        errors = "; ".join(f"{form.fields[name].label}: {' '.join(e)}" for name, e in form.errors.items())
        return JsonResponse({"error": errors}, status=400)
    side = request.GET.get("side") or str(PREVIEW_SIDES[0])
    if side not in {str(choice) for choice in PREVIEW_SIDES}:
        sides = ", ".join(map(str, PREVIEW_SIDES))
        return JsonResponse({"error": f"side must be one of {sides}, got {side[:20]!r}."}, status=400)
    png = patterns.render_png(form.options().scaled(int(side)))
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_POST
@throttle("pattern")
def pattern_create(request: HttpRequest) -> HttpResponse:
    form = PatternForm(request.POST)
    if not form.is_valid():
        return render(request, PATTERNS_TEMPLATE, {"form": form, "preview_query": ""}, status=400)
    try:
        portrait = patterns.save_pattern(request.user, form.options())
    except QuotaExceededError as error:
        form.add_error(None, str(error))
        return render(request, PATTERNS_TEMPLATE, {"form": form, "preview_query": ""}, status=400)
    messages.success(request, f"Saved the {patterns.KIND_LABELS[form.cleaned_data['kind']].lower()} pattern.")
    return redirect(portrait)


# Style models. Every view works without PyTorch: those that need it say how to enable it.


def _styles_context(request: HttpRequest, form: StyleForm | None = None) -> dict[str, Any]:
    # Each style shows its first few images (one query for all styles: a sliced prefetch).
    first_images = Prefetch(
        "images", queryset=StyleImage.objects.only("pk", "style_id")[:STYLE_PREVIEW_IMAGES], to_attr="preview"
    )
    styles = (
        Style.objects.filter(owner=request.user)
        .annotate(image_count=Count("images", distinct=True))
        .prefetch_related(first_images)
    )
    return {"lab_available": lab.available(), "styles": styles, "form": form or StyleForm()}


@login_required
@require_GET
def style_lab(request: HttpRequest) -> HttpResponse:
    return render(request, STYLES_TEMPLATE, _styles_context(request))


@login_required
@require_POST
def style_create(request: HttpRequest) -> HttpResponse:
    form = StyleForm(request.POST)
    if form.is_valid():
        name = form.cleaned_data["name"].strip()
        if Style.objects.filter(owner=request.user, name=name).exists():
            form.add_error("name", f'You already have a style called "{name}".')
        else:
            style = Style.objects.create(owner=request.user, name=name)
            messages.success(request, f"Created the style {name}. Add 5 to 200 images to train it.")
            return redirect(style)
    return render(request, STYLES_TEMPLATE, _styles_context(request, form), status=400)


def _train_form(data: Any = None) -> StyleTrainForm:
    default_size = styles.default_image_size() if lab.available() else None
    return StyleTrainForm(data, default_size=default_size)


def _train_estimate(form: StyleTrainForm, image_count: int) -> dict[str, Any]:
    method, size, epochs = form.choice("method"), form.choice("image_size"), form.choice("epochs")
    seconds = styles.estimate_training_seconds(
        method=method, image_size=size, image_count=image_count, epochs=epochs
    )
    return {
        "duration": styles.describe_duration(seconds),
        "size": size,
        "epochs": epochs,
        "device": "GPU" if lab.gpu_present() else "CPU",
    }


def _style_context(request: HttpRequest, style: Style, **extra: Any) -> dict[str, Any]:
    runs = style.models.all()
    image_count = style.images.count()
    train_form = extra.pop("train_form", None) or _train_form()
    return {
        "style": style,
        "lab_available": lab.available(),
        "images": style.images.all(),
        "image_count": image_count,
        "min_images": styles.MIN_IMAGES,
        "max_images": styles.MAX_IMAGES,
        "runs": runs,
        "train_form": train_form,
        "train_estimate": _train_estimate(train_form, image_count),
        "portraits": Portrait.objects.filter(owner=request.user, status=Portrait.Status.SUCCEEDED)
        .exclude(provider=styles.PROVIDER)
        .select_related("character")[:60],
        **extra,
    }


@login_required
@require_GET
def style_detail(request: HttpRequest, pk: int) -> HttpResponse:
    style = get_owned_or_404(request, Style, pk=pk)
    if request.htmx and "image_size" in request.GET:
        # The train form changed: only the time estimate is redrawn.
        context = _style_context(request, style, train_form=_train_form(request.GET))
        return render(request, STYLE_TEMPLATE + "#train-estimate", context)
    return render(request, STYLE_TEMPLATE, _style_context(request, style))


@login_required
@require_POST
@throttle("import")
def style_upload(request: HttpRequest, pk: int) -> HttpResponse:
    style = get_owned_or_404(request, Style, pk=pk)
    uploads = request.FILES.getlist("images")
    try:
        if not uploads:
            raise styles.StyleError("Choose one or more images to upload.")
        result = styles.add_uploads(style, [(upload.name or "image", upload) for upload in uploads])
    except styles.StyleError as error:
        messages.error(request, str(error))
        return render(
            request, STYLE_TEMPLATE, _style_context(request, style, upload_error=str(error)), status=400
        )
    added = len(result.added)
    messages.success(request, f"Added {added} image{pluralize(added)} to {style.name}.")
    for problem in result.problems:
        messages.warning(request, f"Skipped: {problem}")
    return redirect(style)


@login_required
@require_POST
def style_add_portraits(request: HttpRequest, pk: int) -> HttpResponse:
    style = get_owned_or_404(request, Style, pk=pk)
    ids = [pk for pk in map(parse_id, request.POST.getlist("portrait")) if pk is not None]
    portraits = Portrait.objects.filter(owner=request.user, pk__in=ids)
    try:
        if not ids:
            raise styles.StyleError("Tick one or more portraits to add.")
        added = styles.add_portraits(style, portraits)
    except styles.StyleError as error:
        messages.error(request, str(error))
        return redirect(style)
    messages.success(request, f"Added {len(added)} portrait{pluralize(len(added))} to {style.name}.")
    return redirect(style)


@login_required
@require_GET
def style_image(request: HttpRequest, pk: int) -> FileResponse:
    image = get_object_or_404(StyleImage, style__owner=request.user, pk=pk)
    response = FileResponse(image.image.open("rb"), content_type="image/png")
    response["Cache-Control"] = "private, max-age=86400"
    return response


@login_required
@require_POST
def style_train(request: HttpRequest, pk: int) -> HttpResponse:
    style = get_owned_or_404(request, Style, pk=pk)
    form = _train_form(request.POST)
    if form.is_valid():
        try:
            run = styles.start_training(style, **form.cleaned_data)
        except lab.LabUnavailableError:
            messages.error(request, "The style lab is not enabled on this studio: PyTorch is not installed.")
            return redirect(style)
        except styles.StyleError as error:
            messages.error(request, str(error))
            return redirect(style)
        messages.success(request, f"Training {run.get_method_display()} on {style.name}.")
        return redirect(run)
    return render(request, STYLE_TEMPLATE, _style_context(request, style, train_form=form), status=400)


def _time_left(run: StyleModel) -> str:
    """A rough time to the end of an active run, from its own pace once an epoch is done."""
    if not run.is_active:
        return ""
    if run.epoch and run.started_at:
        per_epoch = (timezone.now() - run.started_at).total_seconds() / run.epoch
        seconds = per_epoch * (run.epochs - run.epoch)
    else:
        seconds = styles.estimate_training_seconds(
            method=run.method,
            image_size=run.image_size,
            image_count=run.style.images.count(),
            epochs=run.epochs,
        )
    return styles.describe_duration(seconds) + " left"


def _run_context(request: HttpRequest, run: StyleModel, **extra: Any) -> dict[str, Any]:
    artworks = styles.artworks(run)[:48] if run.status == StyleModel.Status.SUCCEEDED else []
    return {
        "run": run,
        "time_left": _time_left(run),
        "style": run.style,
        "lab_available": lab.available(),
        "curve": loss_curve(run.losses),
        "generate_form": extra.pop("generate_form", None) or StyleGenerateForm(),
        "artworks": artworks,
        "training_samples": run.style.images.all()[:8],
        **extra,
    }


@login_required
@require_GET
def style_model_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_owned_or_404(request, StyleModel.objects.select_related("style"), pk=pk)
    template_name = STYLE_MODEL_TEMPLATE + "#progress" if request.htmx else STYLE_MODEL_TEMPLATE
    response = render(request, template_name, _run_context(request, run))
    if request.htmx and not run.is_active:
        # The poll saw the run finish: reload once so the generate form and samples appear.
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def style_model_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_owned_or_404(request, StyleModel.objects.select_related("style"), pk=pk)
    if run.request_cancel():
        messages.info(
            request, "Training will stop after the current epoch." if run.is_active else "Cancelled."
        )
    else:
        messages.warning(request, "This training run has already finished.")
    if request.htmx:
        return render(request, STYLE_MODEL_TEMPLATE + "#progress", _run_context(request, run))
    return redirect(run)


@login_required
@require_POST
@throttle("pattern")
def style_generate(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_owned_or_404(request, StyleModel.objects.select_related("style"), pk=pk)
    form = StyleGenerateForm(request.POST)
    if not form.is_valid():
        return render(
            request, STYLE_MODEL_TEMPLATE, _run_context(request, run, generate_form=form), status=400
        )
    data = form.cleaned_data
    seed = data["seed"] if data["seed"] is not None else secrets.randbelow(2**31)
    try:
        made = styles.generate(run, count=data["count"], creativity=data["creativity"], seed=seed)
    except (lab.LabUnavailableError, styles.StyleError, QuotaExceededError) as error:
        messages.error(request, str(error))
        return redirect(run)
    messages.success(
        request, f"Generated {len(made)} image{pluralize(len(made))} in the {run.style.name} style."
    )
    return redirect(run)


def _interpolation_sources(request: HttpRequest, run: StyleModel, form: StyleInterpolateForm):
    sources = {
        p.pk: p
        for p in styles.artworks(run).filter(pk__in=[form.cleaned_data["start"], form.cleaned_data["end"]])
    }
    start, end = sources.get(form.cleaned_data["start"]), sources.get(form.cleaned_data["end"])
    if start is None or end is None:
        raise styles.StyleError("Pick two artworks made by this style model.")
    return start, end


@login_required
@require_GET
def style_interpolate(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_owned_or_404(request, StyleModel.objects.select_related("style"), pk=pk)
    form = StyleInterpolateForm(request.GET)
    frames: list[dict[str, Any]] = []
    error = ""
    if form.is_valid():
        try:
            start, end = _interpolation_sources(request, run, form)
            latents = styles.interpolation_latents(
                styles.latent_of(start), styles.latent_of(end), form.cleaned_data["steps"]
            )
            pngs = styles.decode_png(run, latents)
        except (lab.LabUnavailableError, styles.StyleError) as problem:
            error = str(problem)
        else:
            frames = [
                {"index": index, "src": "data:image/png;base64," + base64.b64encode(png).decode()}
                for index, png in enumerate(pngs)
            ]
    else:
        error = "Pick two artworks and a number of steps between 3 and 12."
    context = _run_context(request, run, interpolate_form=form, frames=frames, interpolate_error=error)
    template_name = STYLE_MODEL_TEMPLATE + "#interpolation" if request.htmx else STYLE_MODEL_TEMPLATE
    return render(request, template_name, context, status=400 if error else 200)


@login_required
@require_POST
def style_interpolate_save(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_owned_or_404(request, StyleModel.objects.select_related("style"), pk=pk)
    form = StyleInterpolateForm(request.POST)
    index = parse_id(request.POST.get("index", ""))
    try:
        if not form.is_valid() or index is None or index >= form.cleaned_data["steps"]:
            raise styles.StyleError("That interpolation step does not exist.")
        start, end = _interpolation_sources(request, run, form)
        latents = styles.interpolation_latents(
            styles.latent_of(start), styles.latent_of(end), form.cleaned_data["steps"]
        )
        latent = latents[index]
        png = styles.decode_png(run, latent[None, :])[0]
    except (lab.LabUnavailableError, styles.StyleError) as error:
        messages.error(request, str(error))
        return redirect(run)
    portrait = styles.save_artwork(run, latent, png, interpolated_from=[start.pk, end.pk], step=index)
    messages.success(request, f"Saved step {index + 1} as a new artwork.")
    if request.htmx:
        return HttpResponse(status=204)
    return redirect(portrait)


@login_required
@require_GET
def style_latent_map(request: HttpRequest, pk: int) -> HttpResponse:
    style = get_owned_or_404(request, Style, pk=pk)
    pad, thumb = 40, 96
    span = MAP_SIZE - 2 * pad
    points = [
        {
            "point": point,
            "cx": round(pad + point.x * span, 1),
            "cy": round(pad + (1 - point.y) * span, 1),
            # The hover thumbnail stays inside the picture.
            "tx": round(min(max(pad + point.x * span - thumb / 2, 0), MAP_SIZE - thumb), 1),
            "ty": round(max(pad + (1 - point.y) * span - thumb - 8, 0), 1),
        }
        for point in styles.latent_map(style)
    ]
    context = {"style": style, "points": points, "size": MAP_SIZE, "thumb": thumb}
    return render(request, "studio/lab/latent_map.html", context)


def loss_curve(losses: list[float], width: int = 480, height: int = 120) -> dict[str, Any]:
    """An SVG polyline of the loss per epoch, scaled to the box."""
    if not losses:
        return {"points": "", "width": width, "height": height, "low": None, "high": None}
    low, high = min(losses), max(losses)
    span = high - low or 1.0
    step = width / max(len(losses) - 1, 1)
    points = " ".join(
        f"{index * step:.1f},{height - 4 - (loss - low) / span * (height - 8):.1f}"
        for index, loss in enumerate(losses)
    )
    return {"points": points, "width": width, "height": height, "low": low, "high": high}
