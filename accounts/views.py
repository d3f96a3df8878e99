from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from .models import ApiToken

TEMPLATE = "account/api_token.html"


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
