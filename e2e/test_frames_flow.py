from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def _pixel_csv(path, rows: int = 40, width: int = 20):
    lines = ["depth," + ",".join(f"col{i}" for i in range(1, width + 1))]
    for row in range(rows):
        lines.append(
            f"{1000 + row * 0.5}," + ",".join(str((row * 7 + col * 13) % 256) for col in range(width))
        )
    path.write_text("\n".join(lines) + "\n")
    return path


# The image's own pixel size and the size the page shows it at.
IMAGE_SIZES = """(selector) => {
  const image = document.querySelector(selector);
  return [image.naturalWidth, image.naturalHeight, image.width, image.height];
}"""


def test_a_user_uploads_a_pixel_csv_and_recolours_it(page, live_server, signed_in, tmp_path):
    page.goto(f"{live_server.url}/studio/frames/")
    page.get_by_label("Dataset name").fill("well-7")
    page.locator("#id_file").set_input_files(str(_pixel_csv(tmp_path / "well.csv")))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("status").filter(has_text="well-7")).to_be_visible()
    expect(page.locator("#frames-datasets")).to_contain_text("well-7")

    page.get_by_role("link", name="View it").click()
    image = page.locator("#frames-image")
    expect(image).to_be_visible()
    before = image.get_attribute("src")
    page.evaluate("window.__sameDocument = true")
    picker = page.locator("#frames-colormap")
    picker.locator("summary").click()
    expect(page.get_by_role("group", name="Diverging")).to_be_visible()
    page.get_by_role("radio", name="magma", exact=True).click()
    expect(picker).not_to_have_attribute("open", "")
    expect(picker.locator("summary")).to_have_text("Colormap: magma")
    expect(image).not_to_have_attribute("src", before)
    expect(page.locator("#frames-image")).to_have_attribute("src", re.compile("colormap=magma"))
    expect(page.locator(".frames-colorbar")).to_have_attribute("aria-label", re.compile("in magma$"))
    # The new image really loaded (a broken image has naturalWidth 0).
    page.wait_for_function("() => document.querySelector('#frames-image').complete")  # a function: no eval
    assert page.evaluate("document.querySelector('#frames-image').naturalWidth") > 0
    # Drawn at the aspect it is shown at (150 levels by 600 px): stretched on the server, not distorted by the
    # browser (Lighthouse's image-aspect-ratio).
    natural_width, natural_height, shown_width, shown_height = page.evaluate(IMAGE_SIZES, "#frames-image")
    assert (shown_width, shown_height) == (150, 600)  # the target width, the plot's height
    assert natural_width * shown_height == natural_height * shown_width
    assert page.evaluate("window.__sameDocument === true")

    # By keyboard: open the list, move to the next colormap, close it with Escape.
    picker.locator("summary").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_role("radio", name="magma", exact=True)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.locator("#frames-image")).to_have_attribute("src", re.compile("colormap=magma_r"))
    page.keyboard.press("Escape")
    expect(picker.locator("summary")).to_be_focused()
    expect(picker.locator("summary")).to_have_text("Colormap: magma_r")


def test_a_wide_dataset_scrolls_inside_its_plot_on_a_phone(page, live_server, signed_in, tmp_path):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/studio/frames/")
    page.get_by_label("Dataset name").fill("wide")
    page.locator("#id_file").set_input_files(str(_pixel_csv(tmp_path / "wide.csv", width=900)))
    page.get_by_label("Target width (pixels)").fill("900")
    page.get_by_role("button", name="Upload").click()
    page.get_by_role("link", name="View it").click()
    expect(page.locator("#frames-image")).to_be_visible()
    # The image is in the DOM before frames.css has loaded; a browser paints only after it (the stylesheet is
    # render-blocking), but a layout query in between sees the 900 px image unstyled. Measure what users see.
    page.wait_for_load_state("load")

    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    plot = page.get_by_role("group", name="Depth plot")
    assert plot.evaluate("el => el.scrollWidth > el.clientWidth")  # the plot scrolls, by keyboard too
    plot.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('.frames-plot').scrollLeft > 0")
