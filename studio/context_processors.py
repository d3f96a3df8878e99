from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def studio(request: HttpRequest) -> dict[str, Any]:
    # signup_open: whether to offer "Sign up" (settings.ACCOUNT_ALLOW_SIGNUP, the account adapter's rule).
    return {"app_name": "Dali Studio", "signup_open": settings.ACCOUNT_ALLOW_SIGNUP}
