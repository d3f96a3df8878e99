from __future__ import annotations

import base64

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from studio import painter
from studio.access import get_owned_or_404
from studio.characters import listing, prompts
from studio.characters.forms import CharacterForm, CharacterSearchForm, preview_values
from studio.characters.models import Character
from studio.characters.signals import look_saved
from studio.imports.forms import ImportUploadForm
from studio.throttle import throttle


def searched_characters(request: HttpRequest) -> tuple[CharacterSearchForm, str, QuerySet[Character]]:
    """The user's characters filtered by the ?q= name search (the list and the exports share it)."""
    search = CharacterSearchForm(request.GET)
    characters = Character.objects.filter(owner=request.user)
    query = search.cleaned_data["q"].strip() if search.is_valid() else ""
    if query:
        characters = characters.filter(name__icontains=query)
    return search, query, characters


@login_required
def character_list(request: HttpRequest) -> HttpResponse:
    search, query, characters = searched_characters(request)
    sort = request.GET.get("sort", "") or listing.DEFAULT_SORT
    if sort not in listing.SORTS:
        if not request.htmx:
            messages.warning(request, "Ignored an unknown sort; showing the recently updated first.")
        sort = listing.DEFAULT_SORT
    after = request.GET.get("after", "")
    page, cursor_ok = listing.character_page(characters, sort, after)
    template_name = "studio/characters/character_list.html"
    if request.htmx and request.htmx.target == "character-results":
        template_name += "#results"
    elif request.htmx and after:
        template_name += "#page"
    first_page = not after
    params = {"q": query, "sort": sort if sort != listing.DEFAULT_SORT else ""}
    response = render(
        request,
        template_name,
        {
            "search": search,
            "query": query,
            "sort": sort,
            "sorts": [(name, label) for name, (label, _order) in listing.SORTS.items()],
            "page": page,
            "cursor_ok": cursor_ok,
            # Counted on the first page only: a scroll page costs the same at the last page as at the first.
            "total": characters.count() if first_page and page.rows else None,
            "has_any": bool(page.rows) or bool(query) or not first_page,
            "continued": not first_page,
            "list_query": _query_string(params),
            "next_url": f"{request.path}?{_query_string({**params, 'after': page.next_cursor})}"
            if page.next_cursor
            else None,
            "import_form": ImportUploadForm() if not request.htmx else None,
        },
    )
    # One URL serves the full page, the results or a scroll page: caches must never mix them up.
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _query_string(params: dict[str, str | None]) -> str:
    return urlencode({name: value for name, value in params.items() if value})


def _preview_context(values: dict) -> dict:
    prompt = prompts.build_prompt(values)
    sketch = base64.b64encode(painter.sketch_png(values)).decode("ascii")
    return {
        "prompt": prompt,
        "length": prompts.length_check(prompt),
        "sketch_data_uri": f"data:image/png;base64,{sketch}",
    }


def _warn_if_too_long(request: HttpRequest, character: Character) -> None:
    check = prompts.length_check(prompts.character_prompt(character))
    if check.fits_none:
        messages.warning(
            request,
            f"Its prompt is {check.length:,} characters long: longer than any image provider here takes "
            f"(at most {check.largest:,}), so it cannot be generated until you shorten the distinguishing "
            "features or choose fewer attributes.",
        )


def _form_page(request: HttpRequest, form: CharacterForm, character: Character | None) -> HttpResponse:
    values = preview_values(form.data) if form.is_bound else form.instance.prompt_values()
    context = {"form": form, "character": character, **_preview_context(values)}
    return render(
        request, "studio/characters/character_form.html", context, status=400 if form.errors else 200
    )


@login_required
@require_http_methods(["GET", "POST"])
def character_create(request: HttpRequest) -> HttpResponse:
    form = CharacterForm(request.POST or None, owner=request.user)
    if request.method == "POST" and "_preview" not in request.POST and form.is_valid():
        character = form.save()
        messages.success(request, f"“{character.name}” was created.")
        _announce_look(request, character, created=True)
        _warn_if_too_long(request, character)
        return redirect(character)
    return _form_page(request, form, None)


@login_required
@require_http_methods(["GET", "POST"])
def character_edit(request: HttpRequest, pk: int) -> HttpResponse:
    character = get_owned_or_404(request, Character, pk=pk)
    form = CharacterForm(request.POST or None, instance=character, owner=request.user)
    version = character.version
    if request.method == "POST" and "_preview" not in request.POST and form.is_valid():
        character = form.save()
        messages.success(request, f"“{character.name}” was saved.")
        if character.version != version:
            _announce_look(request, character, created=False)
        _warn_if_too_long(request, character)
        return redirect(character)
    return _form_page(request, form, character)


def _announce_look(request: HttpRequest, character: Character, *, created: bool) -> None:
    """Tell whoever listens (the portraits feature paints on save) and pass on what they say."""
    for _receiver, answer in look_saved.send(sender=Character, character=character, created=created):
        if isinstance(answer, tuple):
            level, text = answer
            messages.add_message(request, level, text)


@login_required
@require_POST
@throttle("preview")
def character_preview(request: HttpRequest) -> HttpResponse:
    """The live preview: the exact prompt and an instant sketch, from unsaved form data."""
    return render(
        request,
        "studio/characters/character_form.html#preview",
        _preview_context(preview_values(request.POST)),
    )


@login_required
@require_http_methods(["GET", "POST"])
def character_delete(request: HttpRequest, pk: int) -> HttpResponse:
    character = get_owned_or_404(request, Character, pk=pk)
    if request.method == "POST":
        name = character.name
        character.delete()
        messages.success(request, f"“{name}” and its portraits were deleted.")
        if request.htmx:
            return HttpResponseClientRedirect(reverse("studio:character_list"))
        return redirect("studio:character_list")
    template_name = "studio/characters/character_delete.html"
    if request.htmx:
        template_name += "#confirm"
    return render(request, template_name, {"character": character})
