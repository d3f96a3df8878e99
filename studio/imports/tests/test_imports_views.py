from __future__ import annotations

import base64
import csv
import io
import json
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from studio.characters.models import Character
from studio.imports import cards
from studio.imports.models import CharacterImport
from studio.imports.tasks import import_characters_task
from studio.portraits.models import Batch, Portrait
from studio.tests.factories import CharacterFactory, PortraitFactory

pytestmark = pytest.mark.django_db

UPLOAD = reverse("studio:import_upload")
SAMPLE_JSON = Path("/work/shared/data/dali_character.json")
GOOD_AND_BAD = (
    "name,gender,hair colour,peepers\r\n"
    "Ada,female,black,blue\r\n"
    "Bram,male,plaid,green\r\n"
    "Cleo,female,blak,brown\r\n"
    "Dov,male,blonde,grey\r\n"
)


def _upload(client, text: str = GOOD_AND_BAD, headers: dict | None = None, **extra):
    return client.post(UPLOAD, {"text": text, **extra}, **(headers or {}))


def _job(user) -> CharacterImport:
    return CharacterImport.objects.filter(owner=user).latest("created_at")


def _commit(client, job, data: dict | None = None, headers: dict | None = None):
    return client.post(reverse("studio:import_commit", args=[job.pk]), data or {}, **(headers or {}))


# --- the panel and the preview --------------------------------------------------------------------------


def test_it_shows_the_import_panel_and_export_links_on_the_character_list(logged_in_client, user):
    CharacterFactory(owner=user, name="Ada")
    page = logged_in_client.get(reverse("studio:character_list")).content.decode()
    assert 'id="import-panel"' in page
    assert 'hx-encoding="multipart/form-data"' in page
    assert '<label class="form-label" for="import-text">Or paste CSV text</label>' in page
    assert "Export CSV" in page and "Export JSON" in page
    assert 'hx-trigger="charactersChanged from:body"' in page


def test_it_returns_the_preview_partial_for_htmx(logged_in_client, user, htmx_headers):
    response = _upload(logged_in_client, headers=htmx_headers)
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert 'id="import-job"' in page
    assert "4 rows:" in page and "2 new" in page and "2 invalid" in page
    assert page.count('data-status="invalid"') == 2
    assert page.count('data-status="new"') == 2
    assert "“plaid” is not a hair colour choice." in page
    assert "Did you mean “Black”?" in page
    assert "Unknown column: ignored unless you map it." in page
    assert "Map column “peepers” to" in page


def test_the_preview_counts_leave_out_zeros_but_keep_the_total(logged_in_client, user, htmx_headers):
    page = _upload(logged_in_client, "name,gender\r\nAda,female\r\nBram,male\r\n", htmx_headers).text
    counts = re.search(r'<p id="import-counts"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert "2 rows:" in counts and "2 new" in counts
    for zero in ("to update", "unchanged", "invalid"):
        assert zero not in counts
    page = _upload(logged_in_client, headers=htmx_headers).text
    counts = re.search(r'<p id="import-counts"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert "4 rows:" in counts and "2 new" in counts and "2 invalid" in counts and "to update" not in counts


def test_a_rejected_rows_problems_read_as_sentences(logged_in_client, user, htmx_headers):
    _upload(
        logged_in_client, "name,gender,hair colour\r\nAda,female,black\r\nZed,martian,plaid\r\n", htmx_headers
    )
    job = _job(user)
    _commit(logged_in_client, job, {}, htmx_headers)
    rows = list(
        csv.reader(io.StringIO(logged_in_client.get(reverse("studio:import_rejected", args=[job.pk])).text))
    )
    error = rows[1][-1]
    assert (
        error.startswith("gender: ") and "choice. hair colour: “plaid” is not a hair colour choice." in error
    )
    assert ".;" not in error and ";" not in error


def test_each_invalid_row_is_followed_by_its_problems_with_a_copy_of_each_bad_cell(
    logged_in_client, user, htmx_headers
):
    text = (
        GOOD_AND_BAD
        + ",female,black,blue\r\nEve,female,black,blue,extra\r\n"
        + "B" * 130
        + ",male,red,grey\r\n"
    )
    page = _upload(logged_in_client, text, headers=htmx_headers).content.decode()
    # The row names its problem line; the bad cell is marked and can be linked to.
    row = re.search(r'<tr data-line="3" [^>]*>', page).group(0)
    assert 'data-status="invalid"' in row and 'aria-describedby="import-problems-3"' in row
    assert '<td class="cell-invalid" id="import-cell-3-3">plaid<div class="small cell-error">' in page
    problems = {
        int(line): body
        for line, body in re.findall(r'<ul [^>]*id="import-problems-(\d+)">(.*?)</ul>', page, re.S)
    }
    assert sorted(problems) == [3, 4, 6, 7, 8]  # the invalid rows, and only those
    # One full-width line each: 4 columns, and the line, status and problems columns.
    assert page.count('<tr class="import-row-problems">') == page.count('colspan="7"') == 5
    assert (
        '<a class="import-bad-cell" href="#import-cell-3-3">hair colour, column 3: '
        '<span class="import-bad-value">plaid</span></a> “plaid” is not a hair colour choice.'
    ) in problems[3]
    assert (
        'href="#import-cell-6-1">name, column 1: <span class="import-bad-value">(empty)</span>' in problems[6]
    )
    # A problem of no one cell comes without a copy; a long value is cut as in the table.
    assert "import-bad-cell" not in problems[7] and "but the header names only 4 columns." in problems[7]
    assert f'<span class="import-bad-value">{"B" * 59}…</span>' in problems[8]
    assert 'id="import-cell-8-1"' in page


def test_it_redirects_a_plain_upload_to_the_full_import_page(logged_in_client, user):
    response = _upload(logged_in_client)
    job = _job(user)
    assert response.status_code == 302
    assert response["Location"] == reverse("studio:import_detail", args=[job.pk])
    page = logged_in_client.get(response["Location"]).content.decode()
    assert "<html" in page and "Import characters" in page
    assert page.count('data-status="invalid"') == 2
    assert "Recent imports" in page


def test_it_stores_the_upload_under_a_server_chosen_name(logged_in_client, user):
    upload = SimpleUploadedFile("../../etc/passwd.csv", GOOD_AND_BAD.encode(), content_type="text/csv")
    logged_in_client.post(UPLOAD, {"file": upload})
    job = _job(user)
    assert job.status == CharacterImport.Status.DRAFT
    assert job.source.name.startswith("imports/") and "passwd" not in job.source.name
    assert job.total_rows == 4
    assert not Character.objects.exists()  # a preview saves no character


def test_it_re_runs_the_preview_when_a_column_is_remapped(logged_in_client, user, htmx_headers):
    _upload(logged_in_client, headers=htmx_headers)
    job = _job(user)
    response = logged_in_client.post(
        reverse("studio:import_remap", args=[job.pk]), {"map-3": "eye_color"}, **htmx_headers
    )
    page = response.content.decode()
    assert "Unknown column" not in page
    assert '<option value="eye_color" selected>' in page
    job.refresh_from_db()
    assert job.overrides == {"peepers": "eye_color"}


def test_it_shows_a_header_problem_with_the_column_selects_to_fix_it(logged_in_client, user, htmx_headers):
    page = _upload(logged_in_client, "who,hair colour\r\nAda,black\r\n", htmx_headers).content.decode()
    assert "No column holds the character" in page
    assert "Map column “who” to" in page
    job = _job(user)
    fixed = logged_in_client.post(
        reverse("studio:import_remap", args=[job.pk]), {"map-0": "name"}, **htmx_headers
    ).content.decode()
    assert "No column holds" not in fixed
    assert 'data-status="new"' in fixed


# --- commit ---------------------------------------------------------------------------------------------


def test_it_commits_the_valid_rows_and_reports_counts(logged_in_client, user, htmx_headers):
    CharacterFactory(owner=user, name="Dov", gender="male", hair_color="black")
    _upload(logged_in_client, headers=htmx_headers)
    job = _job(user)
    response = _commit(logged_in_client, job, {"map-3": "eye_color"}, htmx_headers)
    page = response.content.decode()
    assert "charactersChanged" in json.loads(response["HX-Trigger"])
    assert "1 created" in page and "1 updated" in page and "2 invalid" in page
    assert "Download rejected rows" in page
    assert Character.objects.get(owner=user, name="Ada").eye_color == "blue"
    assert Character.objects.get(owner=user, name="Dov").hair_color == "blonde"
    job.refresh_from_db()
    assert job.status == CharacterImport.Status.SUCCEEDED


def test_it_commits_nothing_with_all_or_nothing_when_a_row_is_invalid(logged_in_client, user, htmx_headers):
    _upload(logged_in_client, headers=htmx_headers)
    job = _job(user)
    page = _commit(logged_in_client, job, {"all_or_nothing": "on"}, htmx_headers).content.decode()
    assert "Nothing was imported: 2 rows are invalid and you asked for all or nothing." in page
    assert not Character.objects.exists()


def test_it_does_not_commit_twice(logged_in_client, user, htmx_headers):
    _upload(logged_in_client, headers=htmx_headers)
    job = _job(user)
    _commit(logged_in_client, job, {}, htmx_headers)
    second = _commit(logged_in_client, job, {}, htmx_headers).content.decode()
    assert "Import finished." in second
    assert Character.objects.filter(owner=user).count() == 2


def test_it_redirects_a_plain_commit_to_the_import_page_with_a_summary(logged_in_client, user):
    _upload(logged_in_client)
    job = _job(user)
    response = _commit(logged_in_client, job)
    assert response.status_code == 302
    page = logged_in_client.get(response["Location"]).content.decode()
    assert "Imported: 2 created, 2 rejected." in page
    assert "0 updated" not in page and "0 unchanged" not in page, "zero counts are not named"


def test_it_downloads_the_rejected_rows_with_an_error_column(logged_in_client, user, htmx_headers):
    _upload(logged_in_client, headers=htmx_headers)
    job = _job(user)
    _commit(logged_in_client, job, {}, htmx_headers)
    response = logged_in_client.get(reverse("studio:import_rejected", args=[job.pk]))
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["name", "gender", "hair colour", "peepers", "error"]
    assert [row[0] for row in rows[1:]] == ["Bram", "Cleo"]
    assert "Did you mean “Black”?" in rows[2][4]


def test_it_imports_the_fixed_rejected_rows_again(logged_in_client, user, htmx_headers):
    _upload(logged_in_client, headers=htmx_headers)
    job = _job(user)
    _commit(logged_in_client, job, {}, htmx_headers)
    rejected = logged_in_client.get(reverse("studio:import_rejected", args=[job.pk])).content.decode()
    fixed = rejected.replace("plaid", "red").replace("blak", "black")
    _upload(logged_in_client, fixed, htmx_headers)
    page = _commit(logged_in_client, _job(user), {}, htmx_headers).content.decode()
    assert "2 created" in page
    assert Character.objects.filter(owner=user).count() == 4


def test_it_offers_portraits_for_the_imported_characters_with_a_cost(logged_in_client, user, htmx_headers):
    _upload(logged_in_client, headers=htmx_headers)
    job = _job(user)
    page = _commit(logged_in_client, job, {}, htmx_headers).content.decode()
    assert "Generate portraits for these 2 characters" in page
    assert "Estimated cost: free with" in page
    url = reverse("studio:import_portraits", args=[job.pk])
    queued = logged_in_client.post(url, **htmx_headers).content.decode()
    assert "2 portraits queued." in queued
    assert Portrait.objects.filter(owner=user).count() == 2
    logged_in_client.post(url, **htmx_headers)  # a second click queues nothing more
    assert Portrait.objects.filter(owner=user).count() == 2


def test_it_queues_an_imports_portraits_as_one_named_batch_the_queue_cancels_whole(
    logged_in_client, user, htmx_headers
):
    _upload(logged_in_client, headers=htmx_headers)
    job = _job(user)
    _commit(logged_in_client, job, {}, htmx_headers)
    logged_in_client.post(reverse("studio:import_portraits", args=[job.pk]), **htmx_headers)
    batch = Batch.objects.get(owner=user)
    assert batch.portraits.count() == 2
    queue = logged_in_client.get(reverse("studio:queue")).text
    assert f"Portraits for the import of {job.original_name}" in queue
    logged_in_client.post(reverse("studio:batch_cancel", args=[batch.pk]))
    assert set(batch.portraits.values_list("status", flat=True)) == {"cancelled"}


# --- large files in the background ----------------------------------------------------------------------


def test_it_imports_a_large_file_in_the_background_with_progress(
    logged_in_client, user, htmx_headers, settings, django_capture_on_commit_callbacks
):
    settings.CHARACTER_IMPORT_BACKGROUND_ROWS = 10
    text = "name,hair\r\n" + "".join(f"C{i},black\r\n" for i in range(25)) + "Bad,plaid\r\n"
    preview = _upload(logged_in_client, text, htmx_headers).content.decode()
    assert "it will be imported in the background" in preview
    job = _job(user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        page = _commit(logged_in_client, job, {}, htmx_headers).content.decode()
    assert len(callbacks) == 1
    assert 'hx-trigger="every 1s" hx-swap="outerHTML" data-page-poller' in page
    assert 'role="progressbar"' in page
    job.refresh_from_db()
    assert job.status == CharacterImport.Status.QUEUED
    assert not Character.objects.exists()

    import_characters_task.call(job.pk)
    done = logged_in_client.get(reverse("studio:import_detail", args=[job.pk]) + "?poll=1", **htmx_headers)
    assert {"charactersChanged", "jobsChanged"} <= set(json.loads(done["HX-Trigger"]))
    assert "every 1s" not in done.content.decode() and "data-page-poller" not in done.content.decode()
    assert "25 created" in done.content.decode() and "1 invalid" in done.content.decode()
    assert Character.objects.filter(owner=user).count() == 25


def test_it_lists_recent_imports_with_their_status(logged_in_client, user):
    CharacterImport.objects.create(owner=user, original_name="big.csv", status="running", total_rows=100)
    page = logged_in_client.get(reverse("studio:import_page")).content.decode()
    assert "big.csv" in page and "Running (0%)" in page


# --- owner scoping --------------------------------------------------------------------------------------


def test_it_hides_another_users_import(client, user, other_user, htmx_headers):
    client.force_login(user)
    _upload(client, headers=htmx_headers)
    job = _job(user)
    _commit(client, job, {}, htmx_headers)
    client.force_login(other_user)
    for name in ("import_detail", "import_rejected"):
        assert client.get(reverse(f"studio:{name}", args=[job.pk])).status_code == 404
    for name in ("import_remap", "import_commit", "import_portraits"):
        assert client.post(reverse(f"studio:{name}", args=[job.pk])).status_code == 404


def test_it_asks_anonymous_users_to_log_in(client):
    assert client.get(reverse("studio:import_page")).status_code == 302
    assert client.get(reverse("studio:character_export_csv")).status_code == 302


# --- bad files ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.csv", "The file is empty."),
        (b"\x00\x01\x02\x03binary", "data.csv", "does not look like a text (CSV) file"),
        (b"PK\x03\x04zip", "sheet.xlsx", "Excel (.xlsx)"),
        (b"name,hair\r\n", "header-only.csv", "header row but no characters"),
        (b"colour,size\r\nred,big\r\n", "nothing.csv", "none of its cells is a column we know"),
    ],
)
def test_it_explains_a_bad_file_inside_the_panel(logged_in_client, htmx_headers, content, name, message):
    upload = SimpleUploadedFile(name, content)
    response = logged_in_client.post(UPLOAD, {"file": upload}, **htmx_headers)
    assert response.status_code == 200
    assert message in response.content.decode()


def test_it_asks_for_a_file_or_text(logged_in_client, htmx_headers):
    page = logged_in_client.post(UPLOAD, {"text": "  "}, **htmx_headers).content.decode()
    assert "Choose a file or paste CSV text to import." in page
    assert 'id="import-upload"' in page


def test_it_refuses_a_file_over_the_size_limit(logged_in_client, settings):
    settings.CHARACTER_IMPORT_MAX_BYTES = 100
    upload = SimpleUploadedFile("big.csv", b"name\r\n" + b"x" * 200 + b"\r\n")
    response = logged_in_client.post(UPLOAD, {"file": upload})
    assert response.status_code == 400
    assert "the limit is 0 MB" in response.content.decode()
    assert not CharacterImport.objects.exists()


def test_it_refuses_a_file_with_too_many_rows(logged_in_client, htmx_headers, settings):
    settings.CHARACTER_IMPORT_MAX_ROWS = 3
    text = "name\r\n" + "".join(f"C{i}\r\n" for i in range(5))
    page = _upload(logged_in_client, text, htmx_headers).content.decode()
    assert "more than 3 rows" in page
    assert not CharacterImport.objects.exists()


# --- JSON and cards through the same panel --------------------------------------------------------------


def test_it_previews_and_commits_the_nested_sample_json(logged_in_client, user, htmx_headers):
    upload = SimpleUploadedFile("dali_character.json", SAMPLE_JSON.read_bytes())
    page = logged_in_client.post(UPLOAD, {"file": upload}, **htmx_headers).content.decode()
    assert "John Cena" in page and 'data-status="new"' in page
    assert "Map column" not in page
    page = _commit(logged_in_client, _job(user), {}, htmx_headers).content.decode()
    assert "1 created" in page
    john = Character.objects.get(owner=user, name="John Cena")
    assert (john.gender, john.age) == ("male", "adult")


def test_it_imports_a_character_card(logged_in_client, user, other_user, htmx_headers):
    card = cards.export_card(CharacterFactory(owner=other_user, name="Card Hero", hair_color="red"))
    upload = SimpleUploadedFile("hero.png", card, content_type="image/png")
    page = logged_in_client.post(UPLOAD, {"file": upload}, **htmx_headers).content.decode()
    assert "Card Hero" in page
    _commit(logged_in_client, _job(user), {}, htmx_headers)
    assert Character.objects.get(owner=user, name="Card Hero").hair_color == "red"


def test_it_explains_a_png_that_is_not_a_card(logged_in_client, htmx_headers):
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "PNG")
    upload = SimpleUploadedFile("photo.png", buffer.getvalue(), content_type="image/png")
    page = logged_in_client.post(UPLOAD, {"file": upload}, **htmx_headers).content.decode()
    assert "This PNG has no character card in it" in page


# --- export ---------------------------------------------------------------------------------------------


def test_it_exports_filtered_characters_as_csv_with_formulas_neutralised(logged_in_client, user, other_user):
    CharacterFactory(owner=user, name="=HYPERLINK(1)")
    CharacterFactory(owner=user, name="Ada", notes="+1 risky")
    CharacterFactory(owner=user, name="Bram")
    CharacterFactory(owner=other_user, name="Ada's rival")
    response = logged_in_client.get(reverse("studio:character_export_csv"))
    assert response.streaming
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(row["name"] for row in rows) == ["'=HYPERLINK(1)", "Ada", "Bram"]
    assert next(row for row in rows if row["name"] == "Ada")["notes"] == "'+1 risky"

    filtered = logged_in_client.get(reverse("studio:character_export_csv") + "?q=ad")
    rows = list(csv.DictReader(io.StringIO(b"".join(filtered.streaming_content).decode())))
    assert [row["name"] for row in rows] == ["Ada"]


def test_it_exports_filtered_characters_as_json(logged_in_client, user):
    CharacterFactory(owner=user, name="Ada", accessories=["glasses"])
    CharacterFactory(owner=user, name="Bram")
    response = logged_in_client.get(reverse("studio:character_export_json") + "?q=ada")
    data = json.loads(response.content)
    assert response["Content-Type"].startswith("application/json")
    assert data["format"] == "dali-studio/characters"
    assert [record["name"] for record in data["characters"]] == ["Ada"]
    assert data["characters"][0]["accessories"] == ["glasses"]


def _chara(png: bytes) -> dict:
    return json.loads(base64.b64decode(Image.open(io.BytesIO(png)).text["chara"]))


def test_it_downloads_a_character_card_painted_when_there_is_no_portrait(logged_in_client, user):
    character = CharacterFactory(owner=user, name="Ada Lovelace")
    response = logged_in_client.get(reverse("studio:character_card", args=[character.pk]))
    assert response["Content-Type"] == "image/png"
    assert 'filename="ada-lovelace-card.png"' in response["Content-Disposition"]
    card = _chara(response.content)
    assert card["spec"] == "chara_card_v2" and card["data"]["name"] == "Ada Lovelace"
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.size == (512, 512)


def test_it_puts_the_newest_portrait_on_the_card(logged_in_client, user):
    character = CharacterFactory(owner=user)
    portrait = PortraitFactory(character=character)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(buffer, "PNG")
    portrait.store_image(buffer.getvalue(), {})
    response = logged_in_client.get(reverse("studio:character_card", args=[character.pk]))
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.size == (64, 48)
    assert _chara(response.content)["data"]["name"] == character.name


def test_it_hides_another_users_card(logged_in_client, other_user):
    character = CharacterFactory(owner=other_user)
    assert logged_in_client.get(reverse("studio:character_card", args=[character.pk])).status_code == 404


def test_it_links_the_card_download_from_the_character_page(logged_in_client, user):
    character = CharacterFactory(owner=user)
    page = logged_in_client.get(character.get_absolute_url()).content.decode()
    assert reverse("studio:character_card", args=[character.pk]) in page and "Download card" in page


def test_it_stops_at_the_daily_limit_says_how_many_were_queued_and_offers_the_rest_later(
    logged_in_client, user, htmx_headers, settings
):
    settings.DAILY_IMAGE_LIMIT = 1
    _upload(logged_in_client, headers=htmx_headers)
    job = _job(user)
    _commit(logged_in_client, job, {}, htmx_headers)
    url = reverse("studio:import_portraits", args=[job.pk])
    page = logged_in_client.post(url, **htmx_headers).content.decode()
    assert "1 portrait queued; the other 1 was not:" in page
    assert "daily limit of 1 images" in page
    assert "Generate a portrait for this character" in page, "the rest can be queued later"
    assert Portrait.objects.filter(owner=user).count() == 1

    settings.DAILY_IMAGE_LIMIT = 10
    page = logged_in_client.post(url, **htmx_headers).content.decode()
    assert "1 portrait queued." in page
    assert sorted(Portrait.objects.values_list("character__name", flat=True)) == ["Ada", "Dov"]
    page = logged_in_client.post(url, **htmx_headers).content.decode()
    assert "already queued" in page
    assert Portrait.objects.filter(owner=user).count() == 2


def test_it_queues_nothing_and_keeps_the_offer_when_the_default_provider_has_no_key(
    logged_in_client, user, htmx_headers, settings
):
    settings.DEFAULT_IMAGE_PROVIDER = "openai"
    settings.OPENAI_API_KEY = ""
    _upload(logged_in_client, headers=htmx_headers)
    job = _job(user)
    _commit(logged_in_client, job, {}, htmx_headers)
    response = logged_in_client.post(reverse("studio:import_portraits", args=[job.pk]), **htmx_headers)
    assert response.status_code == 200
    page = response.content.decode()
    assert "No portraits were queued: OpenAI is not set up on this studio" in page
    assert "Generate portraits for these 2 characters" in page
    assert not Portrait.objects.exists()
    job.refresh_from_db()
    assert job.portraits_queued_at is None


def test_it_offers_no_portraits_when_the_default_provider_is_switched_off(
    logged_in_client, user, htmx_headers, settings
):
    settings.IMAGE_PROVIDERS = ["openai"]
    _upload(logged_in_client, headers=htmx_headers)
    response = _commit(logged_in_client, _job(user), {}, htmx_headers)
    assert response.status_code == 200
    assert "2 created" in response.content.decode()
    assert "Generate portraits" not in response.content.decode()
