from __future__ import annotations

import logging
from decimal import Decimal

from allauth.account.decorators import reauthentication_required
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from studio.characters.models import Character
from studio.deletion import delete_in_batches
from studio.imports.export import export_json
from studio.portraits.generation import paint_on_save_terms
from studio.portraits.models import Portrait

from .forms import BudgetFallbackForm, CommunityCreditForm, DeleteAccountForm
from .models import ApiToken

logger = logging.getLogger("accounts")

TEMPLATE = "account/api_token.html"


def _has_password(request: HttpRequest) -> bool:
    # Reauthentication asks for the password; an account with social sign-in only has none to ask for.
    return request.user.is_authenticated and request.user.has_usable_password()


# Sensitive changes ask for the password again unless it was given in the last
# ACCOUNT_REAUTHENTICATION_TIMEOUT seconds (allauth suspends the POST and replays it afterwards).
recently_reauthenticated = reauthentication_required(allow_get=True, enabled=_has_password)
PROFILE_TEMPLATE = "account/profile.html"


# The session key under which a new raw token waits for the one GET that shows it.
SHOW_ONCE_SESSION_ENTRY = "accounts:new_api_token"


@login_required
@require_http_methods(["GET", "POST"])
@recently_reauthenticated
def api_token(request: HttpRequest) -> HttpResponse:
    """Show, create, regenerate or revoke the user's API token.

    POST/redirect/GET: a reload never issues another token (which would revoke the one just copied). The
    raw token waits in the session for the next GET only, which takes it out: it is shown once, and the
    database keeps only its hash.
    """
    token = ApiToken.objects.filter(user=request.user).first()
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            if token is not None:
                token.delete()
            messages.success(request, "Your API token was revoked.")
            return redirect("account_api_token")
        _token, raw = ApiToken.issue(request.user)
        request.session[SHOW_ONCE_SESSION_ENTRY] = raw
        return redirect("account_api_token")
    raw = request.session.pop(SHOW_ONCE_SESSION_ENTRY, None)
    return render(request, TEMPLATE, {"token": token, "raw_token": raw if token is not None else None})


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """The account page: sign-in methods, email addresses, password, API token, Community credit, export
    and deletion. A POST saves the display name and the Community credit choice."""
    if request.method == "POST":
        form = CommunityCreditForm(request.POST, instance=request.user)
        if form.is_valid():
            form.save()
            messages.success(request, "Your Community credit was saved.")
            return redirect("account_profile")
        return render(request, PROFILE_TEMPLATE, _profile_context(request, credit_form=form), status=400)
    return render(request, PROFILE_TEMPLATE, _profile_context(request))


def _profile_context(request: HttpRequest, **extra: object) -> dict[str, object]:
    user = request.user
    return {
        "email_addresses": EmailAddress.objects.filter(user=user).order_by("-primary", "email"),
        "social_accounts": [_describe(account) for account in SocialAccount.objects.filter(user=user)],
        "has_password": user.has_usable_password(),
        "api_token": ApiToken.objects.filter(user=user).first(),
        "character_count": Character.objects.filter(owner=user).count(),
        "portrait_count": Portrait.objects.filter(owner=user).count(),
        "paint_on_save": paint_on_save_terms(user),
        "delete_form": extra.pop("delete_form", None) or DeleteAccountForm(user=user),
        "budget_form": extra.pop("budget_form", None) or BudgetFallbackForm(instance=user),
        "image_limit": settings.DAILY_IMAGE_LIMIT,
        "spend_limit": Decimal(str(settings.DAILY_SPEND_LIMIT_USD)),
        "credit_form": extra.pop("credit_form", None) or CommunityCreditForm(instance=user),
        **extra,
    }


@login_required
@require_POST
def paint_on_save(request: HttpRequest) -> HttpResponse:
    """Turn "Paint a portrait when I save a character" on or off."""
    choice = request.POST.get("paint_on_save")
    if choice not in ("on", "off"):
        messages.error(request, "Choose on or off.")
        return redirect("account_profile")
    request.user.paint_on_save = choice == "on"
    request.user.save(update_fields=["paint_on_save"])
    if choice == "on":
        messages.success(request, "Each new character and each change of a look now gets a portrait.")
    else:
        messages.success(request, "Saving a character no longer paints a portrait.")
    return redirect("account_profile")


def _describe(account: SocialAccount) -> dict[str, str]:
    """Provider name and the account's label, also for a provider whose app is no longer configured."""
    try:
        provider = account.get_provider()
        return {"provider": provider.name, "account": account.get_provider_account().to_str()}
    except Exception:  # allauth raises for a provider without an app (removed from the environment)
        return {"provider": account.provider.replace("_", " ").title(), "account": account.uid}


@login_required
@require_POST
def budget_fallback(request: HttpRequest) -> HttpResponse:
    """Save what queueing does when a job would pass the user's daily spend limit."""
    form = BudgetFallbackForm(request.POST, instance=request.user)
    if not form.is_valid():
        return render(request, PROFILE_TEMPLATE, _profile_context(request, budget_form=form), status=400)
    form.save()
    choice = form.instance.get_budget_fallback_display()
    messages.success(request, f"Saved. When a job would pass your daily spend limit: {choice}.")
    return redirect("account_profile")


@login_required
def export_characters(request: HttpRequest) -> HttpResponse:
    """The user's characters as a JSON download (offered before deleting the account)."""
    # The studio's own JSON export, so the file can be imported again (studio/imports.py).
    payload = export_json(Character.objects.filter(owner=request.user))
    response = HttpResponse(payload, content_type="application/json; charset=utf-8")
    filename = f"dali-characters-{timezone.now():%Y%m%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_POST
@recently_reauthenticated
def delete_account(request: HttpRequest) -> HttpResponse:
    """Delete the user with their characters, portraits (and portrait files) after a typed confirmation."""
    form = DeleteAccountForm(request.POST, user=request.user)
    if not form.is_valid():
        return render(request, PROFILE_TEMPLATE, _profile_context(request, delete_form=form), status=400)
    user = request.user
    counts = {
        "user_id": user.pk,
        "characters": Character.objects.filter(owner=user).count(),
        "portraits": Portrait.objects.filter(owner=user).count(),
    }
    with transaction.atomic():
        # Portraits, then characters, a batch at a time: memory stays bounded however many there are, and
        # each portrait's post_delete handler still removes its image files. Only the fields the delete
        # signals read are loaded.
        delete_in_batches(Portrait.objects.filter(owner=user).only("image", "thumbnail"))
        delete_in_batches(Character.objects.filter(owner=user).only("owner_id"))
        user.delete()
    logout(request)
    logger.info("account.deleted", extra=counts)
    messages.success(request, "Your account, characters and portraits were deleted.")
    return redirect("home")
