"""Content-Security-Policy and Permissions-Policy on every page, and templates that need no inline code."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def _directives(header: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_it_sends_a_policy_that_allows_no_inline_or_evaluated_script(client, db):
    response = client.get("/")
    policy = _directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src-elem"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["default-src"] + policy["script-src"]
    assert "camera=()" in response["Permissions-Policy"]


def test_it_sends_the_headers_on_api_answers_and_errors_too(client):
    response = client.get("/api/no-such-endpoint/")
    assert response.status_code == 404
    assert "Content-Security-Policy" in response and "Permissions-Policy" in response


def test_no_template_carries_inline_script_style_elements_or_event_handlers():
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style[\s>]", re.IGNORECASE)
    handler = re.compile(r"\s(on[a-z]+|hx-on[:\w-]*)\s*=", re.IGNORECASE)
    offenders = [
        f"{path.relative_to(TEMPLATES)}:{number}"
        for path in TEMPLATES.rglob("*.html")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if inline_script.search(line) or handler.search(line) or "javascript:" in line
    ]
    assert offenders == []


def test_htmx_runs_without_eval_or_injected_styles(client, db):
    page = client.get("/").text
    assert '"includeIndicatorStyles": false' in page and '"allowEval": false' in page
