from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from studio.characters.models import Character

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
