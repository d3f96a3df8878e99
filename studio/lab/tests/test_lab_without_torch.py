from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def without_torch(monkeypatch):
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name == "torch" or name.startswith("torch.") else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_it_explains_how_to_enable_the_style_lab_when_torch_is_missing(
    logged_in_client, without_torch
) -> None:
    html = logged_in_client.get(reverse("studio:style_lab")).content.decode()

    assert "The style lab is not enabled on this studio" in html
    assert "pip install torch==2.13.0" in html and 'pip install -e ".[lab]"' in html


def test_it_still_draws_patterns_without_torch(logged_in_client, without_torch) -> None:
    response = logged_in_client.get(reverse("studio:patterns"))

    assert response.status_code == 200 and "Create" in response.content.decode()


def test_it_never_imports_torch_when_the_app_loads() -> None:
    code = (
        "import django, os, sys; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site_config.settings');"
        "django.setup(); import site_config.urls, studio.lab.views, studio.portraits.tasks, studio.lab.tasks;"
        "import studio.portraits.providers.patterns, studio.lab.styles;"
        "print('torch' in sys.modules)"
    )
    env = {**os.environ, "DEBUG": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True, env=env
    )

    assert result.stdout.strip() == "False"
