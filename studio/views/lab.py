"""The art lab: procedural patterns (always available) and style models (with the optional lab extra)."""

from __future__ import annotations

import importlib.util
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from studio import patterns
from studio.forms import PatternForm

PATTERNS_TEMPLATE = "studio/lab_patterns.html"
PREVIEW_SIDE = 512


def lab_available() -> bool:
    """Whether the optional lab extra (PyTorch) is installed; checked without importing it."""
    return importlib.util.find_spec("torch") is not None


@login_required
@require_GET
def patterns_page(request: HttpRequest) -> HttpResponse:
    form = PatternForm.from_query(request.GET)
    context = {"form": form, "preview_query": urlencode(form.options().as_dict()) if form.is_valid() else ""}
    template_name = PATTERNS_TEMPLATE + "#preview" if request.htmx else PATTERNS_TEMPLATE
    return render(request, template_name, context)


@login_required
@require_GET
def pattern_preview(request: HttpRequest) -> HttpResponse:
    form = PatternForm.from_query(request.GET)
    if not form.is_valid():
        errors = "; ".join(f"{form.fields[name].label}: {' '.join(e)}" for name, e in form.errors.items())
        return JsonResponse({"error": errors}, status=400)
    png = patterns.render_png(form.options().scaled(PREVIEW_SIDE))
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_POST
def pattern_create(request: HttpRequest) -> HttpResponse:
    form = PatternForm(request.POST)
    if not form.is_valid():
        return render(request, PATTERNS_TEMPLATE, {"form": form, "preview_query": ""}, status=400)
    portrait = patterns.save_pattern(request.user, form.options())
    messages.success(request, f"Saved the {patterns.KIND_LABELS[form.cleaned_data['kind']].lower()} pattern.")
    return redirect(portrait)


@login_required
@require_GET
def style_lab(request: HttpRequest) -> HttpResponse:
    return render(request, "studio/lab_styles.html", {"lab_available": lab_available()})
