"""Depth frames under hostile input: cells that are not numbers, amplification, and limits checked early."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from studio.frames import ingest
from studio.frames import render as rendering
from studio.frames.tests.frames_helpers import header, pixel_csv, ramp_csv, upload
from studio.models import DepthDataset, DepthFrameChunk

HEADER = header(3).encode()

# Cells that were cut, read as 0 or stored as another number: each is refused, naming its line.


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        (b"1,1,2,3\n2,4," + b"7" * 70 + b",6\n", 3, "col2 is 70 characters long; a number here has at most"),
        (b"1,1,2,3\n2,4," + b"0" * 69 + b"7,6\n", 3, "col2 is 70 characters long"),
        (b"1,1,2,3\n" + b"9" * 400 + b",4,5,6\n", 3, "the depth is 400 characters long"),
        (b"1,1,2,3\n2,4,Z200,6\n", 3, "col2 value 'Z200' is not a number"),
        (b"1,1,2,3\n2,4,Z20,6\n", 3, "col2 value 'Z20' is not a number"),
        (b"1,1,2,3\n2,1_000,5,6\n", 3, "col1 value '1_000' is not a number"),
        (b"1,1,2,3\n1_000,4,5,6\n", 3, "the depth '1_000' is not a number"),
        (b"1,1,2,3\n2,4,inf,6\n", 3, "col2 value 'inf' is not a number"),
        (b"1,1,2,3\n2,4,-Infinity,6\n", 3, "col2 value '-Infinity' is not a number"),
        (b"1,1,2,3\ninf,4,5,6\n", 3, "the depth inf is not a finite number"),
        (b"1,1,2,3\n1e400,4,5,6\n", 3, "the depth inf is not a finite number"),
        (b"1,1,2,3\n2,4,0x10,6\n", 3, "col2 value '0x10' is not a number"),
        (b"1,1,2,3\n2,4,1e,6\n", 3, "col2 value '1e' is not a number"),
        (b"1,1,2,3\n2,4,nan,6\n", 3, "col2 is NaN"),
    ],
)
def test_it_refuses_a_cell_that_is_not_a_plain_number_naming_its_line(body, line, fragment):
    with pytest.raises(ingest.FrameCsvError) as caught:
        ingest.parse_csv(HEADER + b"\n" + body)

    assert caught.value.line == line
    assert fragment in caught.value.message


def test_it_accepts_the_longest_numbers_a_cell_may_hold():
    longest = b"254.9999999999999999999999999999"  # 32 characters
    parsed = ingest.parse_csv(HEADER + b"\n-1.2345678901234567e+100," + longest + b",+.5,2E2\n")

    assert parsed.depths.tolist() == [-1.2345678901234567e100]
    assert parsed.pixels.tolist() == [[255.0, 0.5, 200.0]]


# Blocks: a file is parsed a block of lines at a time; results and line numbers do not depend on it.


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(ingest, "_BLOCK_BYTES", 64)


def test_it_parses_a_file_in_blocks_to_the_same_frames(small_blocks):
    data = ramp_csv(rows=300, width=5, start=1000.0, step=-1.5)

    parsed = ingest.parse_csv(data)

    assert parsed.depths.tolist() == [1000.0 - 1.5 * index for index in range(299, -1, -1)]
    assert parsed.pixels[-1].tolist() == [0, 1, 2, 3, 4]
    assert parsed.pixels[0].tolist() == [(2990 + column) % 256 for column in range(5)]


@pytest.mark.parametrize(
    ("bad_row", "fragment"),
    [(b"x,1,2,3", "the depth 'x' is not a number"), (b"9,1,2", "the row has 3 fields"), (b"9,1,,3", "empty")],
)
def test_it_names_the_line_of_an_error_in_a_later_block(small_blocks, bad_row, fragment):
    rows = [b"%d,1,2,3" % index for index in range(200)]
    rows[150] = bad_row

    with pytest.raises(ingest.FrameCsvError) as caught:
        ingest.parse_csv(HEADER + b"\n" + b"\n".join(rows) + b"\n")

    assert caught.value.line == 152
    assert fragment in caught.value.message


def test_it_names_the_line_of_a_duplicate_depth_across_blocks(small_blocks):
    data = ramp_csv(rows=100, width=3) + b"5,1,2,3\n"

    with pytest.raises(ingest.FrameCsvError, match="Line 102: depth 5 is already on line 6"):
        ingest.parse_csv(data)


@pytest.mark.parametrize(
    ("line", "fragment"),
    [(b"2," + b"7" * 5000 + b",5,6", "col1 is 5,000 characters long"), (b"2," + b"," * 5000, "5002 fields")],
)
def test_it_refuses_a_line_longer_than_any_valid_line_without_splitting_it(small_blocks, line, fragment):
    with pytest.raises(ingest.FrameCsvError) as caught:
        ingest.parse_csv(HEADER + b"\n1,1,2,3\n" + line + b"\n")

    assert caught.value.line == 3
    assert fragment in caught.value.message


def test_it_names_the_line_of_a_byte_that_is_not_utf8_in_a_later_block(small_blocks):
    rows = [b"%d,1,2,3" % index for index in range(100)]
    rows[80] = b"80,1,\xff,3"

    with pytest.raises(ingest.FrameCsvError, match="Line 82: The file is not UTF-8 text"):
        ingest.parse_csv(HEADER + b"\n" + b"\n".join(rows))


# Amplification: the stored pixels are bounded, and resampling never builds the whole result at once.


def test_it_refuses_more_cells_than_the_limit_before_reading_a_row(user, settings):
    settings.FRAMES_MAX_CELLS = 1000
    data = header(1).encode() + b"\n" + b"".join(b"%d,7\n" % index for index in range(300)) + b"bad,row\n"

    with pytest.raises(ingest.FrameCsvError) as caught:
        ingest.ingest_csv(user, "wide", data, width=4)  # 301 rows x 4 > 1000, before line 302 is read

    assert "301 rows; at 4 pixels wide that is 1,204 pixels" in caught.value.message
    assert "limit of 1,000 pixels (cells) per dataset" in caught.value.message
    assert not DepthDataset.objects.exists()


def test_it_widens_a_one_pixel_file_a_few_rows_at_a_time(user, monkeypatch):
    monkeypatch.setattr(ingest, "_RESAMPLE_CELLS", 4096 * 3)  # three rows of 4096 at a time
    data = pixel_csv((index, [index % 256]) for index in range(600))

    dataset = ingest.ingest_csv(user, "wide", data, width=4096).dataset

    loaded = rendering.load_frames(dataset)
    assert loaded.pixels.shape == (600, 4096)
    assert (loaded.pixels == (np.arange(600) % 256)[:, None]).all()
    assert DepthFrameChunk.objects.filter(dataset=dataset).count() == 3


@pytest.mark.parametrize(("source", "target"), [(4096, 4000), (300, 2000), (2000, 7)])
def test_it_resamples_a_wide_matrix_band_by_band_like_the_whole_matrix(monkeypatch, source, target):
    pixels = np.random.default_rng(3).integers(0, 256, (5, source)).astype(np.float64)
    whole = pixels @ ingest._weight_columns(source, target, 0, target)
    monkeypatch.setattr(ingest, "_WEIGHTS_BYTES", 8 * source * 64)  # 64 output columns per band

    assert ingest.resample_rows(pixels, target) == pytest.approx(whole, abs=1e-9)


def test_it_keeps_pixels_as_they_are_at_the_same_width():
    pixels = np.array([[1.0, 2.5, 255.0]])

    assert ingest.resample_rows(pixels, 3).tolist() == [[1.0, 2.5, 255.0]]


# The range limit is checked from the chunks' summaries, before any pixels are read.


@pytest.fixture
def long_dataset(user):
    """600 frames at depths 100.0, 100.5, ... 399.5 (three chunks), 4 pixels wide."""
    return ingest.ingest_csv(user, "well-1", ramp_csv(rows=600, start=100.0, step=0.5), width=4).dataset


def test_it_refuses_a_range_over_the_limit_without_reading_pixels(long_dataset, settings):
    settings.FRAMES_MAX_RANGE_ROWS = 100

    with CaptureQueriesContext(connection) as queries, pytest.raises(rendering.FrameRangeError) as caught:
        rendering.load_frames(long_dataset)

    assert "hold 600 frames; at most 100" in caught.value.message
    assert not any('"pixels"' in query["sql"] for query in queries.captured_queries)


@pytest.mark.parametrize(
    ("low", "high", "count"), [(127.5, 300.0, 346), (100.0, 399.5, 600), (230.1, 230.2, 0)]
)
def test_it_counts_the_frames_of_a_range_across_partial_chunks(long_dataset, settings, low, high, count):
    settings.FRAMES_MAX_RANGE_ROWS = count - 1 if count else 0

    if count:
        with pytest.raises(rendering.FrameRangeError, match=f"hold {count} frames"):
            rendering.load_frames(long_dataset, low, high)
    settings.FRAMES_MAX_RANGE_ROWS = count
    assert len(rendering.load_frames(long_dataset, low, high)) == count


# Through the API and the page: the errors above are a 400 with the message, and nothing is stored.


def test_the_api_refuses_a_long_cell_with_its_line(client, user):
    client.force_login(user)
    data = header(4096).encode() + b"\n1," + b"7" * 70 + (b",7" * 4095) + b"\n"

    response = client.post("/api/frames/upload-csv/", {"dataset": "deep", "file": upload(data)})

    assert response.status_code == 400
    assert response.json()["line"] == 2
    assert "col1 is 70 characters long" in response.json()["error"]
    assert not DepthDataset.objects.exists()


def test_the_api_refuses_width_amplification_over_the_cells_limit(client, user, settings):
    settings.FRAMES_MAX_CELLS = 100_000
    client.force_login(user)
    data = header(1).encode() + b"\n" + b"".join(b"%d,7\n" % index for index in range(1000))

    response = client.post(
        "/api/frames/upload-csv/", {"dataset": "deep", "file": upload(data), "width": "4096"}
    )

    assert response.status_code == 400
    assert "limit of 100,000 pixels (cells) per dataset" in response.json()["error"]
    assert not DepthDataset.objects.exists()


def test_the_upload_page_shows_the_cells_limit(client, user, settings):
    settings.FRAMES_MAX_CELLS = 100
    client.force_login(user)

    response = client.post("/studio/frames/upload/", {"dataset": "deep", "file": upload(ramp_csv(rows=200))})

    assert response.status_code == 400
    assert "limit of 100 pixels (cells) per dataset" in response.content.decode()
    assert not DepthDataset.objects.exists()
