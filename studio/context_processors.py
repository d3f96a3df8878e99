from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def studio(request: HttpRequest) -> dict[str, Any]:
    return {"app_name": "Dali Studio"}
