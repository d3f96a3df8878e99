from __future__ import annotations

import logging

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
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
from studio.portraits.models import Portrait

from .forms import DeleteAccountForm
from .models import ApiToken

logger = logging.getLogger("accounts")

TEMPLATE = "account/api_token.html"
PROFILE_TEMPLATE = "account/profile.html"


@login_required
@require_http_methods(["GET", "POST"])
def api_token(request: HttpRequest) -> HttpResponse:
    """Show, create, regenerate or revoke the user's API token.

    Creating answers the POST with the page itself, not a redirect: the raw token exists only in that
    response (the database keeps its hash), so it is shown once and never stored for a later GET.
    """
    token = ApiToken.objects.filter(user=request.user).first()
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            if token is not None:
                token.delete()
            messages.success(request, "Your API token was revoked.")
            return redirect("account_api_token")
        token, raw = ApiToken.issue(request.user)
        return render(request, TEMPLATE, {"token": token, "raw_token": raw})
    return render(request, TEMPLATE, {"token": token})


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """The account page: sign-in methods, email addresses, password, API token, export and deletion."""
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
        "delete_form": extra.pop("delete_form", None) or DeleteAccountForm(user=user),
        **extra,
    }


def _describe(account: SocialAccount) -> dict[str, str]:
    """Provider name and the account's label, also for a provider whose app is no longer configured."""
    try:
        provider = account.get_provider()
        return {"provider": provider.name, "account": account.get_provider_account().to_str()}
    except Exception:  # allauth raises for a provider without an app (removed from the environment)
        return {"provider": account.provider.replace("_", " ").title(), "account": account.uid}


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
