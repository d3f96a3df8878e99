"""Procedural patterns in a browser: the preview follows the form, and the browser loads a preview as sharp as
the screen shows it (the page offers three sizes in a srcset), never a distorted one."""

from __future__ import annotations

import math
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

PREVIEW = "#pattern-preview img"

# The loaded preview's real pixel size (an <img> with a srcset reports its size divided by the density the
# browser assumed, so the file is decoded again on its own) and the size the page shows it at.
PREVIEW_SIZES = """async (selector) => {
  const shown = document.querySelector(selector);
  if (!shown.complete || !shown.naturalWidth) {
    await new Promise(done => shown.addEventListener("load", done, {once: true}));
  }
  const file = new Image();
  file.src = shown.currentSrc;
  await file.decode();
  const file_size = [file.naturalWidth, file.naturalHeight];
  return {url: shown.currentSrc, file: file_size, shown: [shown.width, shown.height]};
}"""


def _preview(page) -> dict:
    return page.evaluate(PREVIEW_SIZES, PREVIEW)


def _assert_sharp_and_undistorted(preview: dict, density: float) -> None:
    (file_width, file_height), (shown_width, shown_height) = preview["file"], preview["shown"]
    # Lighthouse's image-size-responsive: 3/4 of the pixels the screen has for it (density counted up to 2).
    assert file_width >= math.ceil(0.75 * min(density, 2) * shown_width), preview
    assert file_height >= math.ceil(0.75 * min(density, 2) * shown_height), preview
    # Lighthouse's image-aspect-ratio: the shown height within 2 px of the file's aspect.
    assert abs(shown_width * file_height / file_width - shown_height) < 2, preview


@pytest.mark.browser_context_args(viewport={"width": 390, "height": 844}, device_scale_factor=3)
def test_on_a_phone_the_preview_is_sharp_on_its_dense_screen(page, live_server, signed_in):
    page.goto(f"{live_server.url}/studio/lab/patterns/")

    preview = _preview(page)
    assert "side=1024" in preview["url"]  # 3 device pixels per CSS pixel: the largest preview
    _assert_sharp_and_undistorted(preview, density=3)

    page.get_by_label("Width (pixels)").fill("2048")
    expect(page.locator(PREVIEW)).to_have_attribute("src", re.compile("width=2048"))
    preview = _preview(page)
    assert preview["file"] == [1024, 512]
    _assert_sharp_and_undistorted(preview, density=3)


@pytest.mark.browser_context_args(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
def test_on_a_desktop_the_preview_is_no_larger_than_it_needs(page, live_server, signed_in):
    page.goto(f"{live_server.url}/studio/lab/patterns/")

    preview = _preview(page)
    # Shown about 560 px wide (70% of the window's height): the 768 px preview, not the 1024 px one.
    assert 512 < preview["shown"][0] == preview["shown"][1] <= 560
    assert "side=768" in preview["url"] and preview["file"] == [768, 768]
    _assert_sharp_and_undistorted(preview, density=1)
