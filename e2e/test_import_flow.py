from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from studio.characters.models import Character
from studio.imports.models import CharacterImport
from studio.tests.ux_pages import AXE_RUN, AXE_SCRIPT, BLOCKING_IMPACTS, OVERFLOW

pytestmark = pytest.mark.e2e

CSV_WITH_TWO_INVALID_ROWS = (
    "name,gender,hair colour,peepers\n"
    "Ada,female,black,blue\n"
    "Bram,male,plaid,green\n"
    "Cleo,female,blak,brown\n"
    "Dov,male,blonde,grey\n"
)


def test_a_user_imports_a_csv_inline_fixes_a_mapping_and_downloads_the_rejected_rows(
    page, live_server, signed_in, tmp_path
):
    source = tmp_path / "cast.csv"
    source.write_text(CSV_WITH_TWO_INVALID_ROWS)
    page.goto(f"{live_server.url}/studio/characters/")
    page.evaluate("window.__sameDocument = true")

    page.locator("#import-panel > summary").click()
    page.get_by_label("File to import").set_input_files(str(source))
    page.get_by_role("button", name="Preview import").click()

    # The two invalid rows are flagged, each with the exact cell and the reason.
    table = page.locator("#import-preview-table")
    invalid = table.locator('tr[data-status="invalid"]')
    expect(invalid).to_have_count(2)
    expect(invalid.nth(0).locator(".cell-invalid")).to_contain_text("“plaid” is not a hair colour choice.")
    expect(invalid.nth(1).locator(".cell-invalid")).to_contain_text("Did you mean “Black”?")
    expect(table.locator('tr[data-status="new"]')).to_have_count(2)

    # The "peepers" column is unknown; map it to eye colour and the preview re-runs.
    expect(page.get_by_text("Unknown column: ignored unless you map it.")).to_be_visible()
    page.get_by_label("Map column “peepers” to").select_option("eye_color")
    expect(page.get_by_text("Unknown column: ignored unless you map it.")).to_have_count(0)
    expect(page.get_by_label("Map column “peepers” to")).to_have_value("eye_color")

    page.get_by_role("button", name="Commit import").click()
    expect(page.locator("#import-report-counts")).to_contain_text("2 created")
    expect(page.locator("#import-report-counts")).to_contain_text("2 invalid")

    # The list shows the new characters without a reload.
    results = page.locator("#character-results")
    expect(results.get_by_role("heading", name="Ada")).to_be_visible()
    expect(results.get_by_role("heading", name="Dov")).to_be_visible()
    assert page.evaluate("window.__sameDocument === true")
    assert Character.objects.get(name="Ada").eye_color == "blue"

    with page.expect_download() as download:
        page.get_by_role("link", name="Download rejected rows").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert rows[0] == ["name", "gender", "hair colour", "peepers", "error"]
    assert [row[0] for row in rows[1:]] == ["Bram", "Cleo"]
    assert "Did you mean “Black”?" in rows[2][-1]


HEADERS = (
    "name,gender,skin tone,ethnicity,eye colour,hair colour,hair style,facial hair,body type,clothing,"
    "clothing colour,clothing style,expression,age,pose,description"
)
WIDE_CSV = (
    f"{HEADERS}\n"
    "Ada Lovelace,female,fair,african,blue,black,short,clean-shaven,slim,dress,red,formal,smiling,"
    "young adult,sitting,A mathematician who wrote the first published program\n"
    "Bram Stoker,male,fair,african,green,brown,short,full beard,average,tailored suit,black,formal,serious,"
    "old,profile,A theatre manager and novelist\n"
    "Cleo Vance,female,tan,african,brown,red,bob,clean-shaven,athletic,dress,green,casual,confident,adult,"
    "sitting,A racing driver\n"
    "Dov Amsel,male,olive,african,grey,plaid,short,stubble,stocky,hoodie,navy,streetwear,serious,adult,"
    "levitating,A locksmith\n"
)


def _within_the_viewport_horizontally(page, locator) -> None:
    box = locator.bounding_box()
    width = page.viewport_size["width"]
    assert box is not None and box["width"] > 0, locator
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, (box, width)


@pytest.mark.parametrize("width", [1280, 390])
def test_a_wide_files_invalid_rows_show_their_bad_cell_and_problem_without_scrolling_sideways(
    page, live_server, signed_in, tmp_path, width
):
    """16 columns: the age (column 14) and the hair colour and pose (6 and 15) are wrong. Each invalid row's
    problems, with a copy of each bad cell, sit in a line under it that stays in view, light and dark; the
    page itself never scrolls sideways. E2E_SCREENSHOTS=<folder> saves what the test saw."""
    source = tmp_path / "wide.csv"
    source.write_text(WIDE_CSV)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/studio/characters/import/")
    page.get_by_label("File to import").set_input_files(str(source))
    page.get_by_role("button", name="Preview import").click()
    table = page.locator("#import-preview-table")
    expect(table.locator('tr[data-status="invalid"]')).to_have_count(2)
    job = CharacterImport.objects.get(owner=signed_in)
    detail_url = f"{live_server.url}/studio/characters/import/{job.pk}/"
    shots = os.environ.get("E2E_SCREENSHOTS")
    page.context.route(
        f"{live_server.url}/__axe.min.js",
        lambda route: route.fulfill(path=str(AXE_SCRIPT), content_type="application/javascript"),
    )
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.goto(detail_url)  # the draft's own page: the same preview
        expect(page.locator("html")).to_have_attribute("data-bs-theme", scheme)
        bram = table.locator('tr[data-line="3"]')
        dov = table.locator('tr[data-line="5"]')
        table.scroll_into_view_if_needed()
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            page.wait_for_timeout(500)  # a smooth scroll into view ends
            page.screenshot(path=f"{shots}/import-preview-{width}-{scheme}.png")
        # The bad cells are marked in the table...
        expect(bram.locator(".cell-invalid")).to_have_count(1)
        expect(bram.locator(".cell-invalid")).to_contain_text("old")
        expect(dov.locator(".cell-invalid")).to_have_count(2)
        # ...and each problem, with its cell (column, number and value), is in view under its row.
        for row, cell, message in (
            (bram, "age, column 14: old", "“old” is not an age choice."),
            (dov, "hair colour, column 6: plaid", "“plaid” is not a hair colour choice."),
            (dov, "pose, column 15: levitating", "“levitating” is not a pose choice."),
        ):
            problems = page.locator(f"#{row.get_attribute('aria-describedby')}")
            problem = problems.locator("li", has_text=message)
            expect(problem).to_be_visible()
            _within_the_viewport_horizontally(page, problem)
            bad_cell = problem.locator(".import-bad-cell")
            expect(bad_cell).to_have_text(cell)
            _within_the_viewport_horizontally(page, bad_cell)
        assert page.evaluate(OVERFLOW) <= 0, "the page scrolls sideways"
        page.add_script_tag(url=f"{live_server.url}/__axe.min.js")
        violations = [v for v in page.evaluate(AXE_RUN) if v["impact"] in BLOCKING_IMPACTS]
        assert violations == [], violations

    # The copy of a bad cell links to the cell itself: following it brings the cell into view.
    link = table.locator('tr[data-line="3"] + tr .import-bad-cell')
    link.click()
    expect(table.locator("td:target")).to_contain_text("old")
    page.wait_for_function(  # the browser may scroll smoothly
        "() => { const r = document.querySelector('#import-preview-table td:target').getBoundingClientRect();"
        " return r.left >= 0 && r.right <= window.innerWidth; }"
    )
    if shots:
        page.screenshot(path=f"{shots}/import-preview-{width}-dark-cell-followed.png")
