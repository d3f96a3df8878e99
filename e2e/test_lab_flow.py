"""The style lab in a browser: a style from uploads, training with live progress, generating, interpolating,
and the latent map. Needs the lab extra (PyTorch), which CI installs; skipped only where torch is missing."""

from __future__ import annotations

import pytest
from PIL import Image
from playwright.sync_api import expect

pytest.importorskip("torch")

pytestmark = pytest.mark.e2e

COLOURS = [(200, 40, 40), (40, 170, 60), (40, 60, 200), (220, 200, 40), (180, 40, 180), (40, 190, 190)]


def _sketches(folder) -> list[str]:
    """Six small PNGs: each its own background with a block of another colour in a different place."""
    paths = []
    for index, colour in enumerate(COLOURS):
        image = Image.new("RGB", (48, 48), colour)
        x, y = (index % 3) * 12, (index // 3) * 20
        image.paste(Image.new("RGB", (24, 24), tuple(255 - c for c in colour)), (x, y))
        path = folder / f"sketch-{index}.png"
        image.save(path)
        paths.append(str(path))
    return paths


def test_a_style_is_trained_on_uploads_then_generates_walks_and_maps(
    page, live_server, signed_in, task_worker, tmp_path
):
    page.goto(f"{live_server.url}/studio/lab/styles/")
    page.get_by_label("Style name").fill("Blocks")
    page.get_by_role("button", name="Create style").click()
    expect(page.get_by_role("heading", name="Blocks")).to_be_visible()
    expect(page.locator("#image-count")).to_have_text("0 of 5–200")

    page.get_by_label("Upload images").set_input_files(_sketches(tmp_path))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_text("Added 6 images to Blocks.")).to_be_visible()
    expect(page.locator("#style-images img")).to_have_count(6)

    # The estimate follows the form (HTMX), and the default size on a CPU is 64.
    expect(page.get_by_label("Image size")).to_have_value("64")
    expect(page.locator("#train-estimate")).to_contain_text("60 epochs at 64×64")
    page.get_by_label("Image size").select_option("32")
    page.get_by_label("Epochs").fill("6")
    page.get_by_label("Epochs").dispatch_event("change")
    expect(page.locator("#train-estimate")).to_contain_text("6 epochs at 32×32 takes under a minute")
    page.get_by_role("button", name="Train", exact=True).click()

    progress = page.locator("#training-progress")
    expect(page.get_by_role("heading", name="Variational autoencoder of Blocks")).to_be_visible()
    expect(progress.get_by_role("progressbar", name="Training progress")).to_be_visible()
    # The poll sees the run finish and reloads once: the loss curve, metadata and generate form appear.
    expect(progress.locator(".status")).to_have_text("Trained", timeout=30_000)
    expect(progress.get_by_role("progressbar")).to_contain_text("Epoch 6 of 6")
    expect(progress.get_by_role("img", name="Loss per epoch")).to_be_visible()
    expect(progress.locator("polyline")).to_have_count(1)
    expect(page.locator("#training-metadata")).to_contain_text("Final loss")

    page.get_by_label("Images", exact=True).fill("3")
    page.get_by_label("Creativity").fill("1")
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page.get_by_text("Generated 3 images in the Blocks style.")).to_be_visible()
    generated = page.locator("#generated img")
    expect(generated).to_have_count(3)
    expect(page.locator("#comparison").get_by_role("img", name="Training image")).to_have_count(6)

    page.get_by_label("Steps").fill("4")
    page.get_by_role("button", name="Walk").click()
    strip = page.locator("#interpolation img")
    expect(strip).to_have_count(4)
    expect(strip.first).to_have_attribute("alt", "Step 1 of 4")
    decoded = "[...document.querySelectorAll('#interpolation img')].map(i => i.complete && i.naturalWidth)"
    assert page.evaluate(decoded) == [256] * 4, "every step of the walk is a decoded 256-pixel image"
    page.get_by_role("button", name="Save step 2").click()
    expect(page.get_by_text("Saved step 2 as a new artwork.")).to_be_visible()

    page.goto(f"{live_server.url}/studio/lab/styles/")
    page.get_by_role("link", name="Blocks").click()
    page.get_by_role("link", name="Latent map").click()
    expect(page.get_by_role("heading", name="Latent map of Blocks")).to_be_visible()
    expect(page.locator("svg.latent-map circle.training")).to_have_count(6)
    expect(page.locator("svg.latent-map circle.generated")).to_have_count(4)
    point = page.locator("svg.latent-map a").first
    thumb = point.locator("image.thumb")
    expect(thumb).to_be_hidden()
    point.hover()
    expect(thumb).to_be_visible()
