from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from studio.portraits.models import Portrait

LANDING_PORTRAITS = 8


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("studio:character_list")
    # The newest public portraits: what people make here, shown before any words about it.
    showcase = list(
        Portrait.objects.filter(is_public=True, status=Portrait.Status.SUCCEEDED)
        .exclude(thumbnail="")
        .only("pk", "prompt", "character_id")
        .order_by("-created_at", "-id")[:LANDING_PORTRAITS]
    )
    return render(request, "home.html", {"showcase": showcase})
