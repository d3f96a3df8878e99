"""The providers settings page: what is enabled and configured (never the keys), prices, model checks.

Staff only: the page shows base URLs and the models check calls the provider with the studio's key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from studio.portraits.providers import PROVIDERS, enabled_names, get_provider
from studio.portraits.providers.base import MISSING_KEY, ErrorKind, ProviderError
from studio.portraits.providers.pricing import image_prices


@dataclass(frozen=True)
class ProviderRow:
    name: str
    label: str
    enabled: bool
    configured: bool
    key_setting: str
    base_url: str
    default_model: str
    timeout: float
    prices: list[tuple[str, str, str, Decimal]]
    retired: str = ""  # "dall-e-3 was retired on 2026-05-12; use gpt-image-2." for a retired default model


def _rows() -> list[ProviderRow]:
    enabled = enabled_names()
    prices = image_prices()
    rows = []
    for name in PROVIDERS:
        provider = get_provider(name) if name in enabled else None
        provider_prices = sorted(
            (key[1], key[2] or "any", key[3] if len(key) > 3 else "any", value)
            for key, value in prices.items()
            if key[0] == name
        )
        rows.append(
            ProviderRow(
                name=name,
                label=provider.label if provider else name,
                enabled=provider is not None,
                configured=bool(provider and provider.is_configured()),
                key_setting=provider.key_setting if provider else "",
                base_url=getattr(provider, "base_url", "") if provider else "",
                default_model=provider.default_model if provider else "",
                timeout=provider.timeout if provider else settings.PROVIDER_TIMEOUT,
                prices=provider_prices,
                retired=provider.retirement_message() if provider else "",
            )
        )
    return rows


TEMPLATE = "studio/portraits/provider_settings.html"


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Log visitors in; answer 403 with a clear page to signed-in users who are not studio staff."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.is_staff:
            return render(request, TEMPLATE, {"forbidden": True}, status=403)
        return view(request, *args, **kwargs)

    return wrapped


@staff_required
@require_GET
def provider_settings(request: HttpRequest) -> HttpResponse:
    return render(request, TEMPLATE, {"providers": _rows()})


@staff_required
@require_GET
def openai_models(request: HttpRequest) -> HttpResponse:
    """GET /v1/models on demand: the image models this key can use, with shutdown warnings."""
    listing, error = None, ""
    if "openai" not in enabled_names():
        error = "OpenAI is not enabled on this studio (IMAGE_PROVIDERS)."
    else:
        provider = get_provider("openai")
        try:
            if not provider.is_configured():
                raise provider.error(ErrorKind.AUTH, MISSING_KEY)
            listing = provider.list_image_models()
        except ProviderError as exc:
            error = exc.message
    if error:
        messages.error(request, error)
    context = {"providers": _rows(), "listing": listing, "models_error": error, "checked": True}
    template_name = TEMPLATE
    if request.htmx:
        template_name += "#openai_models"
    return render(request, template_name, context)
