"""Full-page screenshots of every main page at 1280 and 390 px, light and dark, for a designer's review.

Run: python bench/screenshots.py [--out DIR] [--pages "queue,lightbox open"] [--widths 1280,390]
                                 [--schemes light,dark]

A tool, not a test: it prints where each PNG went and judges nothing. The app runs as bench/ux.py runs it
(gunicorn, DEBUG off, collected static) on a scratch SQLite database seeded by studio/tests/ux_pages.py
(the demo plus a batch in every job state, an import preview with an invalid row, a reference, a style).
The pages are that module's list (which e2e/test_pages_a11y.py also checks) and the
states that need a click: the lightbox open, the character form's card section open, a just-created API
token, a form sent with a stale CSRF token, the start page when signed in. The theme follows Chromium's
emulated colour scheme, as theme.js does on "Auto". Files: DIR/<page>-<width>-<scheme>.png (default
bench/.scratch/shots).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from _setup import ROOT, free_port, production_like_demo, start_gunicorn

CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
OUT = ROOT / "bench" / ".scratch" / "shots"
WIDTHS = (1280, 390)
SCHEMES = ("light", "dark")
HEIGHT = {1280: 900, 390: 844}


def _open_card_section(page) -> None:
    page.locator("#character-card-section > summary").click()


def _open_lightbox(page) -> None:
    page.locator("a[data-lightbox]:has(img)").first.click()
    page.locator("#lightbox.show .lightbox-image").wait_for()
    page.wait_for_timeout(400)  # the modal's fade


def _create_token(page, password: str) -> None:
    """Create (or regenerate) the token; allauth asks for the password first when the login is not recent."""
    for _attempt in range(2):
        page.locator("main button[name=action][value=create]").click()
        page.wait_for_load_state("networkidle")
        if "reauthenticate" not in page.url:
            return
        page.locator("input[name=password]").fill(password)
        page.locator("main button[type=submit]").click()
        page.wait_for_load_state("networkidle")


def _stale_csrf(page) -> None:
    """Send the new-character form with a token the server never issued (as after a session expired)."""
    with page.expect_navigation(wait_until="networkidle"):
        page.evaluate(
            """() => {
          const form = document.querySelector("main form[method=post] input[name=csrfmiddlewaretoken]").form;
          const tokens = form.querySelectorAll("input[name=csrfmiddlewaretoken]");
          tokens.forEach(input => { input.value = "x".repeat(64); });
          setTimeout(() => HTMLFormElement.prototype.submit.call(form));
        }"""
        )


@dataclass(frozen=True)
class Shot:
    name: str
    path: str
    signed_in: bool = True
    action: Callable | None = None
    full_page: bool = True  # False for a modal: its backdrop covers the window, not the whole page


# Clicks that open a state of a listed page, for the listed page's own shot.
ACTIONS: dict[str, Callable] = {"character form": _open_card_section}


def shots(demo) -> list[Shot]:
    from django.urls import reverse

    listed = [Shot(page.name, page.path, page.signed_in, ACTIONS.get(page.name)) for page in demo.pages]
    return [
        *listed,
        Shot("home signed in", "/"),
        Shot("lightbox open", reverse("studio:my_gallery"), action=_open_lightbox, full_page=False),
        Shot(
            "api token created",
            reverse("account_api_token"),
            action=lambda page: _create_token(page, demo.password),
        ),
        Shot("csrf failure", reverse("studio:character_create"), action=_stale_csrf),
    ]


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def capture(
    base_url: str, chosen: list[Shot], width: int, scheme: str, cookie: dict, out: Path
) -> list[Path]:
    from playwright.sync_api import sync_playwright

    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROME)
        context = browser.new_context(
            viewport={"width": width, "height": HEIGHT.get(width, 900)}, color_scheme=scheme
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        signed_in = False
        for shot in sorted(chosen, key=lambda shot: shot.signed_in):  # the signed-out pages first
            if shot.signed_in and not signed_in:
                context.add_cookies([cookie])
                signed_in = True
            page.goto(base_url + shot.path, wait_until="networkidle")
            if shot.action:
                shot.action(page)
                if shot.full_page:  # sticky bars would be drawn where the click scrolled to
                    page.evaluate("window.scrollTo(0, 0)")
            page.evaluate("document.fonts.ready")
            path = out / f"{slug(shot.name)}-{width}-{scheme}.png"
            page.screenshot(path=str(path), full_page=shot.full_page, animations="disabled", caret="hide")
            written.append(path)
        browser.close()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder for the PNGs (default {OUT})")
    parser.add_argument("--pages", default="", help="comma-separated page names (default: all)")
    parser.add_argument("--widths", default=",".join(map(str, WIDTHS)))
    parser.add_argument("--schemes", default=",".join(SCHEMES))
    options = parser.parse_args()

    demo, session = production_like_demo("shots")
    from django.conf import settings

    names = [name.strip() for name in options.pages.split(",") if name.strip()]
    chosen = [shot for shot in shots(demo) if not names or shot.name in names]
    if unknown := set(names) - {shot.name for shot in chosen}:
        raise SystemExit(f"no such page: {', '.join(sorted(unknown))}")
    out = options.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    cookie = {
        "name": settings.SESSION_COOKIE_NAME,
        "value": session,
        "url": base_url,
    }
    server = start_gunicorn(port)
    started = time.monotonic()
    written: list[Path] = []
    try:
        for width in (int(width) for width in options.widths.split(",")):
            for scheme in options.schemes.split(","):
                written += capture(base_url, chosen, width, scheme, cookie, out)
                print(f"{width} px {scheme}: {len(chosen)} pages", file=sys.stderr, flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"{len(written)} screenshots in {out} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
