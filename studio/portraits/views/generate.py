"""Generating portraits: the generator on a character page, quick generate, and the live cost estimate."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import trigger_client_event
from PIL import Image

from studio.access import get_owned_or_404, parse_id
from studio.characters.models import Character
from studio.characters.prompts import PromptTooLongError
from studio.portraits import references
from studio.portraits.files import read_png_metadata
from studio.portraits.forms import GeneratorForm
from studio.portraits.generation import (
    GenerationInputError,
    JobSpec,
    QuotaExceededError,
    daily_limits,
    queue_character_portraits,
    queue_jobs,
)
from studio.portraits.generation import usage_today as _usage_today
from studio.portraits.models import Batch, Portrait
from studio.throttle import throttle

PORTRAITS_CHANGED = "portraitsChanged"


@dataclass(frozen=True)
class Estimate:
    count: int
    unit: Decimal
    total: Decimal
    used_images: int
    used_spend: Decimal
    image_limit: int
    spend_limit: Decimal

    @property
    def free(self) -> bool:
        return self.unit == 0


def estimate_for(request: HttpRequest, form: GeneratorForm, count: int) -> Estimate:
    model, quality, size = form.estimate_values()
    unit = form.backend.estimate_cost(model, quality, size, 1) if form.backend else Decimal("0")
    used = _usage_today(request.user)
    image_limit, spend_limit = daily_limits()
    return Estimate(count, unit, unit * count, used.images, used.spend, image_limit, spend_limit)


def _count_from(data: QueryDict) -> int:
    try:
        count = int(data.get("count") or 0)
    except ValueError:
        count = 0
    if not count:
        count = sum(1 for prompt in data.getlist("prompt") if prompt.strip())
    return max(1, min(count, 999))


@login_required
@require_http_methods(["GET", "POST"])
def generator_options(request: HttpRequest) -> HttpResponse:
    """The generator's provider-dependent fields and cost estimate, re-rendered as choices change; only the
    estimate when the quick-generate prompts change. POST too: prompts can be too long for a URL."""
    data = request.POST if request.method == "POST" else request.GET
    form = GeneratorForm.following_provider(data, per_row=data.get("per_row") == "1")
    context = {
        "generator": form,
        "estimate": estimate_for(request, form, _count_from(data)),
        # The character page sends its prompt's length, for the meter against the chosen model's limit.
        "prompt_length": parse_id(data.get("prompt_length", "")),
    }
    character_pk = parse_id(data.get("character", ""))
    if character_pk is not None and form.backend is not None:
        # On a character page: what the chosen provider and model will do with its references.
        character = Character.objects.filter(owner=request.user, pk=character_pk).first()
        if character is not None:
            chosen = references.references_of(character)
            context["references_note"] = references.describe(form.backend, form.estimate_values()[0], chosen)
    if request.htmx and request.htmx.target == "cost-estimate":
        partial = "cost_estimate"
    elif request.htmx and "changed" in data:
        # Out of band, only what depends on the field that changed: what the user is typing elsewhere in the
        # panel stays as it is.
        changed = data.get("changed", "")
        partial = "generator_update"
        context.update(
            swap_oob=True,
            estimate_oob=True,
            swap_model=changed == "provider",
            swap_dependent=changed in ("provider", "model"),
        )
    else:
        partial = "generator_fields"
    return render(request, f"studio/portraits/quick_generate.html#{partial}", context)


def _cards(request: HttpRequest, portraits: list[Portrait]) -> str:
    """New cards for the character page, whose own poller refreshes them (see views.characters)."""
    return "".join(
        render_to_string(
            "studio/portraits/character_detail.html#portrait_card",
            {"portrait": p, "polled_by_page": True},
            request=request,
        )
        for p in portraits
    )


@login_required
@require_POST
@throttle("generate")
def portrait_generate(request: HttpRequest, character_pk: int) -> HttpResponse:
    """Queue one portrait (the one-click button) or a batch of variations (the generator form)."""
    character = get_owned_or_404(request, Character, pk=character_pk)
    form = GeneratorForm(request.POST or None) if "provider" in request.POST else None
    try:
        if form is not None:
            if not form.is_valid():
                raise GenerationInputError(_form_errors(form))
            portraits = queue_character_portraits(
                character,
                form.job_options(),
                count=form.cleaned_data["count"],
                seed=form.cleaned_data["seed"],
                negative_prompt=form.cleaned_data["negative_prompt"],
            )
        else:
            portraits = queue_character_portraits(character)
    except (PromptTooLongError, GenerationInputError, QuotaExceededError) as error:
        messages.error(request, str(error))
        if request.htmx:
            return HttpResponse("", headers={"HX-Reswap": "none"})
        return redirect(character)
    if portraits.budget_notice:
        messages.warning(request, portraits.budget_notice)
    if request.htmx:
        return trigger_client_event(HttpResponse(_cards(request, portraits)), PORTRAITS_CHANGED)
    noun = "portrait is" if len(portraits) == 1 else f"{len(portraits)} portraits are"
    messages.info(request, f"Your {noun} queued; they will appear here when they are painted.")
    return redirect(character)


def _form_errors(form: GeneratorForm) -> str:
    return " ".join(
        f"{form.fields[name].label if name in form.fields else ''}: {' '.join(errors)}".lstrip(": ")
        for name, errors in form.errors.items()
    )


# Quick generate: free-text prompts, one row each, queued as one batch.


def _collapsed(text: str) -> str:
    """A typed prompt as it is sent, and measured: runs of spaces and line breaks as one space."""
    return " ".join(text.split())


@dataclass(frozen=True)
class RowMeter:
    """A prompt row's length against the chosen provider and model's limit. prompt_meter.js recounts it as
    the user types, the same way (spaces collapsed, characters not UTF-16 units)."""

    length: int
    limit: int
    provider: str

    @property
    def over(self) -> bool:
        return self.length > self.limit

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.length / self.limit)) if self.limit else 100

    @property
    def state(self) -> str:
        # A warning, not an error: another provider may take it (Generate refuses it for this one).
        return "warning" if self.over else ""


@dataclass
class QuickRow:
    prompt: str = ""
    negative_prompt: str = ""
    seed: str = ""
    errors: list[str] = field(default_factory=list)
    autofocus: bool = False
    meter: RowMeter | None = None


def _rows_from(data: QueryDict) -> list[QuickRow]:
    prompts, negatives, seeds = data.getlist("prompt"), data.getlist("negative_prompt"), data.getlist("seed")
    rows = []
    for index, prompt in enumerate(prompts[: settings.QUICK_MAX_PROMPTS]):
        negative = negatives[index] if index < len(negatives) else ""
        seed = seeds[index] if index < len(seeds) else ""
        rows.append(QuickRow(prompt, negative, seed.strip()))
    return rows or [QuickRow()]


def _validate_rows(rows: list[QuickRow], limit: int, where: str) -> list[JobSpec]:
    specs = []
    for row in rows:
        prompt = _collapsed(row.prompt)
        negative = _collapsed(row.negative_prompt)
        if not prompt:
            row.errors.append("Write a prompt, or remove this row." if len(rows) > 1 else "Write a prompt.")
        elif len(prompt) > limit:
            error = PromptTooLongError(len(prompt), limit, where, advice=PromptTooLongError.FREE_TEXT_ADVICE)
            row.errors.append(str(error))
        if len(negative) > 2000:
            row.errors.append("The negative prompt is longer than 2000 characters.")
        seed: int | None = None
        if row.seed:
            try:
                seed = int(row.seed)
                if not 0 <= seed <= 2**62:
                    raise ValueError
            except ValueError:
                row.errors.append("The seed must be a whole number (0 or more), or blank for a random one.")
        specs.append(JobSpec(prompt, negative, seed))
    return specs


def _remix_initial(request: HttpRequest, pk: int) -> tuple[QuickRow, dict[str, Any]]:
    """Prefill from a portrait: its PNG's text chunks when it has an image, else its record."""
    portrait = get_owned_or_404(request, Portrait, pk=pk)
    values = {
        "prompt": portrait.prompt,
        "negative_prompt": portrait.negative_prompt,
        "seed": str(portrait.seed),
        # An imported picture has no provider to paint with (its PNG may name the one that made it).
        "provider": "" if portrait.provider == Portrait.IMPORTED else portrait.provider,
        "model": "" if portrait.provider == Portrait.IMPORTED else portrait.model,
        "size": portrait.parameters.get("size", ""),
        "quality": portrait.parameters.get("quality", ""),
        "style": portrait.parameters.get("style", ""),
    }
    if portrait.image:
        try:
            with portrait.image.open("rb") as file:
                stored = read_png_metadata(file.read())
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            messages.warning(
                request,
                "This portrait's image file could not be read, so Remix starts from the settings the studio "
                "recorded for it.",
            )
        else:
            values |= {key: value for key, value in stored.items() if key in values}
    row = QuickRow(values["prompt"], values["negative_prompt"], values["seed"])
    initial = {
        name: values[name] for name in ("provider", "model", "size", "quality", "style") if values[name]
    }
    return row, initial | dict(portrait.parameters.get("options") or {})


@login_required
@require_http_methods(["GET", "POST"])
@throttle("generate", methods=("POST",))
def quick_generate(request: HttpRequest) -> HttpResponse:
    batch = None
    if request.method == "GET":
        rows, initial = [QuickRow()], {}
        remix = parse_id(request.GET.get("remix", ""))
        if remix is not None:
            row, initial = _remix_initial(request, remix)
            rows = [row]
        generator = GeneratorForm(initial=initial, per_row=True)
        if initial and generator.backend and generator.backend.name != initial.get("provider"):
            messages.warning(request, "That portrait's provider is not available here; choose another one.")
    else:
        generator = GeneratorForm.following_provider(request.POST, per_row=True)
        rows = _rows_from(request.POST)
        if "_add" in request.POST:
            if len(rows) < settings.QUICK_MAX_PROMPTS:
                rows.append(QuickRow(autofocus=True))
            else:
                messages.warning(request, f"One batch takes at most {settings.QUICK_MAX_PROMPTS} prompts.")
            return _quick_page(request, generator, rows, None, partial="rows")
        if "_remove" in request.POST:
            index = parse_id(request.POST["_remove"])
            if index is not None and index < len(rows):
                del rows[index]
            return _quick_page(request, generator, rows or [QuickRow(autofocus=True)], None, partial="rows")
        batch, rows = _queue_quick(request, generator, rows, _remixed(request, request.POST))
        if batch is not None and not request.htmx:
            return redirect(batch)
    return _quick_page(request, generator, rows, batch, partial="quick")


def _remixed(request: HttpRequest, data: QueryDict) -> Portrait | None:
    """The user's portrait a Remix started from (whose references it keeps), if the form names one."""
    pk = parse_id(data.get("remix") or data.get("references_from") or "")
    if pk is None:
        return None
    return Portrait.objects.filter(owner=request.user, pk=pk).only("id", "references").first()


def _queue_quick(
    request: HttpRequest, generator: GeneratorForm, rows: list[QuickRow], remixed: Portrait | None = None
) -> tuple[Batch | None, list[QuickRow]]:
    if not generator.is_valid() or generator.backend is None:
        messages.error(request, _form_errors(generator))
        return None, rows
    backend = generator.backend
    options = generator.job_options()
    limit = backend.prompt_limit(options.model)
    specs = _validate_rows(rows, limit, backend.label)
    if any(row.errors for row in rows):
        messages.error(request, "Some prompts need attention; see the messages next to them.")
        return None, rows
    try:
        # A Remix keeps the references its portrait was made from (as far as the model takes them).
        kept = list(remixed.references) if remixed is not None and remixed.references else None
        portraits = queue_jobs(request.user, specs, options, batch_kind=Batch.Kind.QUICK, references=kept)
    except (PromptTooLongError, GenerationInputError, QuotaExceededError) as error:
        messages.error(request, str(error))
        return None, rows
    count = len(portraits)
    messages.success(request, f"{count} prompt{'s' if count != 1 else ''} queued.")
    if portraits.budget_notice:
        messages.warning(request, portraits.budget_notice)
    batch = portraits[0].batch
    return batch, [QuickRow()]


def _quick_page(
    request: HttpRequest,
    generator: GeneratorForm,
    rows: list[QuickRow],
    batch: Batch | None,
    *,
    partial: str,
) -> HttpResponse:
    count = sum(1 for row in rows if row.prompt.strip()) or 1
    if generator.backend is not None:
        limit, label = generator.prompt_limit(), generator.backend.label
        for row in rows:
            row.meter = RowMeter(len(_collapsed(row.prompt)), limit, label)
    context = {
        "generator": generator,
        "rows": rows,
        "batch": batch,
        "portraits": batch.portraits.order_by("id") if batch else [],
        "progress": batch.progress() if batch else None,
        "estimate": estimate_for(request, generator, count),
        "estimate_oob": request.htmx and partial == "rows",
        "max_rows": settings.QUICK_MAX_PROMPTS,
        "remixed": _remixed(request, request.GET if request.method == "GET" else request.POST),
    }
    template_name = "studio/portraits/quick_generate.html"
    if request.htmx:
        template_name += f"#{partial}"
    status = 400 if request.method == "POST" and batch is None and partial == "quick" else 200
    response = render(request, template_name, context, status=status if not request.htmx else 200)
    if batch is not None:
        trigger_client_event(response, PORTRAITS_CHANGED)
    return response
