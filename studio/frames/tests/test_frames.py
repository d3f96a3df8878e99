from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from studio.frames import ingest as frames_ingest
from studio.frames import render as rendering
from studio.frames.models import DepthDataset, DepthFrameChunk
from studio.frames.tests.frames_helpers import header, pixel_csv, ramp_csv


def ingest(user, data: bytes, name: str = "well-1", **kwargs):
    return frames_ingest.ingest_csv(user, name, data, **kwargs)


# Parsing and resampling ----------------------------------------------------------------------------------


def test_it_reads_depths_and_pixels_of_a_classic_200_column_file():
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (30, 200))
    data = pixel_csv((9000 + index * 0.1, row) for index, row in enumerate(pixels))

    parsed = frames_ingest.parse_csv(data)

    assert parsed.pixels.shape == (30, 200)
    assert (parsed.pixels == pixels).all()
    assert parsed.depths == pytest.approx(9000 + np.arange(30) * 0.1)


def test_it_sorts_rows_by_depth():
    parsed = frames_ingest.parse_csv(pixel_csv([(3, [30]), (1, [10]), (2, [20])]))

    assert parsed.depths.tolist() == [1, 2, 3]
    assert parsed.pixels[:, 0].tolist() == [10, 20, 30]


def test_it_accepts_decimals_spaces_a_bom_crlf_and_trailing_blank_lines():
    data = b"\xef\xbb\xbf" + b'"depth", col1 ,col2\r\n1.5, 10.4 ,2e2\r\n-2,0,255\r\n\r\n\r\n'

    parsed = frames_ingest.parse_csv(data)

    assert parsed.depths.tolist() == [-2, 1.5]
    assert parsed.pixels.tolist() == [[0, 255], [10.4, 200]]


@pytest.mark.parametrize("width", [1, 4096])
def test_it_reads_any_width_from_1_to_4096(width):
    parsed = frames_ingest.parse_csv(pixel_csv([(1, [7] * width), (2, [9] * width)]))

    assert parsed.pixels.shape == (2, width)


def test_it_resamples_a_four_pixel_row_to_hand_computed_values():
    # Shrinking 4 -> 2: scale 2, triangle support 2 input pixels. Output 0 is centred at x=1.0; inputs centred
    # at 0.5, 1.5, 2.5, 3.5 are 0.25, 0.25, 0.75, 1.25 support-widths away: weights 0.75, 0.75, 0.25, 0,
    # normalised by 1.75 -> (0*3 + 100*3 + 200*1) / 7 = 71.43. Output 1 mirrors it: (100 + 200*3 + 255*3) / 7.
    values = frames_ingest.resample_rows(np.array([[0.0, 100.0, 200.0, 255.0]]), 2)

    assert values[0] == pytest.approx([500 / 7, 1465 / 7])
    assert frames_ingest.to_levels(values).tolist() == [[71, 209]]


def test_it_stores_the_hand_computed_levels(user):
    data = pixel_csv([(1, [0, 100, 200, 255]), (2, [255, 255, 0, 0])])

    result = ingest(user, data, width=2)
    loaded = rendering.load_frames(result.dataset)

    # Second row: (255*3 + 255*3 + 0) / 7 = 218.57 -> 219 and (255 + 0 + 0) / 7 = 36.43 -> 36.
    assert loaded.pixels.tolist() == [[71, 209], [219, 36]]


@pytest.mark.parametrize(("source", "target"), [(200, 150), (200, 37), (3, 8), (150, 150)])
def test_it_resamples_like_pillows_antialiased_bilinear(source, target):
    rng = np.random.default_rng(source + target)
    pixels = rng.integers(0, 256, (7, source)).astype(np.float64)
    expected = np.asarray(
        Image.fromarray(pixels.astype(np.float32), mode="F").resize((target, 7), Image.Resampling.BILINEAR)
    )

    assert frames_ingest.resample_rows(pixels, target) == pytest.approx(expected, abs=1e-3)


def test_it_keeps_pixels_unchanged_at_the_same_width(user):
    result = ingest(user, ramp_csv(rows=3, width=5), width=5)

    assert rendering.load_frames(result.dataset).pixels.tolist() == [
        [0, 1, 2, 3, 4],
        [10, 11, 12, 13, 14],
        [20, 21, 22, 23, 24],
    ]


# Validation ----------------------------------------------------------------------------------------------

HEADER = header(3).encode()


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        (b"1,1,2,3\n,4,5,6\n", 3, "depth is missing"),
        (b"1,1,2,3\nabc,4,5,6\n", 3, "depth 'abc' is not a number"),
        (b"1,1,2,3\nnan,4,5,6\n", 3, "not a finite number"),
        (b"1,1,2,3\n2,4,5,6\n1.0,7,8,9\n", 4, "depth 1 is already on line 2"),
        (b"1,1,2,3\n2,4,256,6\n", 3, "col2 value 256 is outside 0-255"),
        (b"1,1,2,3\n2,4,-1,6\n", 3, "col2 value -1 is outside 0-255"),
        (b"1,1,2,3\n2,4,5,x7\n", 3, "col3 value 'x7' is not a number"),
        (b"1,1,2,3\n2,4,,6\n", 3, "col2 is empty"),
        (b"1,1,2,3\n2,4,NaN,6\n", 3, "col2 is NaN"),
        (b"1,1,2,3\n2,4,5\n", 3, "the row has 3 fields; the header has 4"),
        (b"1,1,2,3\n2,4,5,6,7\n", 3, "the row has 5 fields"),
        (b"1,1,2,3\n\n2,4,5,6\n", 3, "the row has 1 fields"),
        (b"1,1,2,3\n2,1e9,5,6\n", 3, "outside 0-255"),
    ],
)
def test_it_rejects_a_bad_row_naming_its_line(body, line, fragment):
    with pytest.raises(frames_ingest.FrameCsvError) as caught:
        frames_ingest.parse_csv(HEADER + b"\n" + body)

    assert caught.value.line == line
    assert caught.value.message.startswith(f"Line {line}: ")
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "The file is empty"),
        (b"\n\n  \n", "The file is empty"),
        (HEADER + b"\n", "no data rows"),
        (b"time,col1\n1,2\n", "Line 1: the header must start with 'depth'"),
        (b"depth\n1\n", "Line 1: the header has no pixel columns"),
        (b"depth,col1,col3\n1,2,3\n", "Line 1: header column 3 is 'col3'; expected 'col2'"),
        (b"depth,col1\n1,\xff\n", "not UTF-8"),
    ],
)
def test_it_rejects_a_bad_file(data, fragment):
    with pytest.raises(frames_ingest.FrameCsvError) as caught:
        frames_ingest.parse_csv(data)

    assert fragment in caught.value.message


def test_it_rejects_a_file_over_the_size_limit(settings):
    settings.FRAMES_MAX_UPLOAD_BYTES = 100

    with pytest.raises(frames_ingest.FrameFileTooLarge, match="limit is 100 bytes"):
        frames_ingest.parse_csv(ramp_csv(rows=20))


def test_it_rejects_more_columns_than_the_width_limit(settings):
    settings.FRAMES_MAX_WIDTH = 3

    with pytest.raises(
        frames_ingest.FrameCsvError, match="Line 1: the header has 4 pixel columns; at most 3"
    ):
        frames_ingest.parse_csv(ramp_csv(width=4))


def test_it_rejects_a_bad_dataset_name(user):
    with pytest.raises(frames_ingest.FrameError, match="is not valid"):
        ingest(user, ramp_csv(), name="../etc")


def test_it_rejects_a_target_width_out_of_range(user):
    with pytest.raises(frames_ingest.FrameError, match="target width must be from 1 to 4096"):
        ingest(user, ramp_csv(), width=0)


# Storage -------------------------------------------------------------------------------------------------


def test_it_stores_a_dataset_in_chunks_with_its_summary(user):
    result = ingest(user, ramp_csv(rows=600, width=200, start=100.0, step=0.5))

    dataset = result.dataset
    assert result.created
    assert (dataset.width, dataset.source_width, dataset.row_count) == (150, 200, 600)
    assert (dataset.depth_min, dataset.depth_max) == (100.0, 399.5)
    assert list(dataset.chunks.values_list("index", "row_count")) == [(0, 256), (1, 256), (2, 88)]


def test_it_resamples_to_the_width_setting(user, settings):
    settings.FRAMES_TARGET_WIDTH = 40

    assert ingest(user, ramp_csv(width=200)).dataset.width == 40


def test_it_stores_nothing_when_the_upload_fails(user):
    with pytest.raises(frames_ingest.FrameCsvError):
        ingest(user, ramp_csv() + b"99,1,2\n")

    assert not DepthDataset.objects.exists()
    assert not DepthFrameChunk.objects.exists()


def test_it_replaces_a_dataset_uploaded_again_under_the_same_name(user):
    first = ingest(user, ramp_csv(rows=600)).dataset

    second = ingest(user, ramp_csv(rows=5, start=50.0))

    assert not second.created
    assert second.dataset.pk == first.pk
    first.refresh_from_db()
    assert (first.row_count, first.depth_min) == (5, 50.0)
    assert first.chunks.count() == 1
    assert rendering.load_frames(first).depths.tolist() == [50, 51, 52, 53, 54]


def test_it_keeps_the_old_frames_when_a_replacement_fails(user):
    ingest(user, ramp_csv(rows=5))

    with pytest.raises(frames_ingest.FrameCsvError):
        ingest(user, ramp_csv(rows=3) + b"9,1,2,3,999\n")

    dataset = DepthDataset.objects.get()
    assert dataset.row_count == 5
    assert len(rendering.load_frames(dataset)) == 5


def test_it_keeps_datasets_of_the_same_name_apart_per_owner(user, other_user):
    ingest(user, ramp_csv(rows=5))
    ingest(other_user, ramp_csv(rows=3))

    assert sorted(DepthDataset.objects.values_list("row_count", flat=True)) == [3, 5]


# Retrieval -----------------------------------------------------------------------------------------------


@pytest.fixture
def long_dataset(user):
    """600 frames at depths 100.0, 100.5, ... 399.5 (three chunks), 4 pixels wide."""
    return ingest(user, ramp_csv(rows=600, start=100.0, step=0.5), width=4).dataset


def test_it_includes_both_range_boundaries(long_dataset):
    loaded = rendering.load_frames(long_dataset, 127.5, 128.5)

    assert loaded.depths.tolist() == [127.5, 128.0, 128.5]
    assert loaded.pixels[:, 0].tolist() == [(55 * 10) % 256, (56 * 10) % 256, (57 * 10) % 256]


def test_it_returns_frames_across_chunk_boundaries_in_depth_order(long_dataset):
    loaded = rendering.load_frames(long_dataset, 200.0, 260.0)  # rows 200..320 span chunks 0, 1 and 2

    assert loaded.depths.tolist() == [200.0 + 0.5 * index for index in range(121)]


def test_it_returns_no_frames_for_a_range_between_frames(long_dataset):
    assert len(rendering.load_frames(long_dataset, 100.1, 100.4)) == 0


def test_it_refuses_a_range_over_the_row_limit(long_dataset, settings):
    settings.FRAMES_MAX_RANGE_ROWS = 100

    with pytest.raises(rendering.FrameRangeError, match="hold 101 frames; at most 100"):
        rendering.load_frames(long_dataset, 100.0, 150.0)
    assert len(rendering.load_frames(long_dataset, 100.0, 149.5)) == 100


def test_it_refuses_a_reversed_range(long_dataset):
    with pytest.raises(rendering.FrameRangeError, match="must not be greater"):
        rendering.load_frames(long_dataset, 200.0, 100.0)


def test_it_finds_the_depths_of_the_first_frames(long_dataset):
    assert rendering.first_depths(long_dataset, 300) == (100.0, 249.5)
    assert rendering.first_depths(long_dataset, 5000) == (100.0, 399.5)


# Colormaps and PNGs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("colormap", "level", "rgb"),
    [
        ("viridis", 0, (68, 1, 84)),
        ("viridis", 255, (253, 231, 37)),
        ("viridis_r", 0, (253, 231, 37)),
        ("gray", 128, (128, 128, 128)),
        ("gray", 255, (255, 255, 255)),
        ("gray_r", 0, (255, 255, 255)),
        ("magma", 0, (0, 0, 4)),
        ("inferno", 255, (252, 255, 164)),
        ("plasma", 0, (13, 8, 135)),
        ("cividis", 0, (0, 34, 78)),
    ],
)
def test_it_maps_levels_to_matplotlibs_colours(colormap, level, rgb):
    assert tuple(rendering.colorize(np.array([[level]], dtype=np.uint8), colormap)[0, 0]) == rgb


def test_it_offers_every_matplotlib_colormap_with_reversed_variants():
    names = rendering.colormap_names()

    for name in (
        "viridis",
        "plasma",
        "inferno",
        "magma",
        "cividis",
        "gray",
        "jet",
        "turbo",
        "tab10",
        "Blues",
    ):
        assert name in names
        assert f"{name}_r" in names
    assert len(names) >= 160


def test_it_rejects_an_unknown_colormap_listing_the_valid_ones():
    with pytest.raises(rendering.UnknownColormap) as caught:
        rendering.colormap_table("viridiss")

    assert "Unknown colormap 'viridiss'" in caught.value.message
    assert "magma" in caught.value.message


def test_it_renders_a_stacked_png_that_decodes_to_the_colormapped_pixels():
    levels = np.random.default_rng(4).integers(0, 256, (6, 9)).astype(np.uint8)

    image = Image.open(io.BytesIO(rendering.render_png(levels, "plasma")))

    assert image.size == (9, 6)
    assert (np.asarray(image.convert("RGB")) == rendering.colorize(levels, "plasma")).all()


@pytest.mark.parametrize(
    ("rows", "width", "scale"),
    [(60, 40, 1), (600, 7, 1), (601, 7, 2), (2000, 150, 4), (5, 3, 1)],
)
def test_it_draws_the_viewers_image_at_the_plots_aspect_with_every_frame_in_it(rows, width, scale):
    levels = np.random.default_rng(rows).integers(0, 256, (rows, width)).astype(np.uint8)

    image = Image.open(io.BytesIO(rendering.render_plot_png(levels, "magma", height=600)))

    # The plot shows the frames `width` CSS pixels wide and 600 high: the image has that aspect exactly.
    assert image.size == (width * scale, 600 * scale)
    drawn = np.asarray(image.convert("RGB"))
    expected_rows = np.arange(600 * scale) * rows // (600 * scale)  # nearest neighbour, top to bottom
    expected = np.repeat(rendering.colorize(levels, "magma")[expected_rows], scale, axis=1)
    assert (drawn == expected).all()
    assert set(expected_rows.tolist()) == set(range(rows))  # no frame left out


def test_it_samples_the_frames_rather_than_draw_the_viewers_image_over_the_pixel_limit():
    levels = np.arange(2000 * 100, dtype=np.int64).reshape(2000, 100) % 256

    assert rendering.plot_scale(2000, 100, 600, max_pixels=10**9) == 4
    assert rendering.plot_scale(2000, 100, 600, max_pixels=100 * 600 * 9) == 3
    assert rendering.plot_scale(2000, 4096, 600, max_pixels=4096 * 2000) == 1
    image = Image.open(io.BytesIO(rendering.render_plot_png(levels.astype(np.uint8), "gray", 600, 60_000)))
    assert image.size == (100, 600)  # one CSS pixel per image pixel: still the plot's aspect


def test_it_encodes_one_png_per_row_that_decodes_to_the_same_pixels():
    rgb = np.random.default_rng(3).integers(0, 256, (5, 7, 3)).astype(np.uint8)

    rows = [Image.open(io.BytesIO(png)) for png in rendering.encode_row_pngs(rgb)]

    assert [image.size for image in rows] == [(7, 1)] * 5
    assert all((np.asarray(image.convert("RGB"))[0] == rgb[index]).all() for index, image in enumerate(rows))


@pytest.mark.parametrize("width", [1, 2, 150])
def test_it_base64_encodes_each_row_png_on_its_own(width):
    rgb = np.random.default_rng(width).integers(0, 256, (4, width, 3)).astype(np.uint8)

    encoded = rendering.encode_row_pngs_base64(rgb)

    assert encoded == [base64.b64encode(png).decode() for png in rendering.encode_row_pngs(rgb)]


def test_it_labels_a_depth_axis_with_evenly_spaced_ticks():
    ticks = rendering.depth_ticks(np.array([10.0, 10.5, 11.0, 11.5, 12.0]), count=3)

    assert ticks == [
        {"depth": "10", "percent": 10.0},
        {"depth": "11", "percent": 50.0},
        {"depth": "12", "percent": 90.0},
    ]


@pytest.mark.parametrize(
    ("depths", "labels"),
    [
        (np.linspace(1503.2, 1787.9, 500), ["1550", "1600", "1650", "1700", "1750"]),
        (np.linspace(100.0, 112.5, 9), ["100.0", "102.5", "105.0", "107.5", "110.0", "112.5"]),
        (np.linspace(0.0012, 0.0019, 50), [f"0.00{n}" for n in range(12, 20)]),
        (np.linspace(-0.04, 0.05, 10), ["-0.04", "-0.02", "0.00", "0.02", "0.04"]),
        (np.array([7.25]), ["7.25"]),
    ],
)
def test_it_puts_axis_ticks_on_round_depths(depths, labels):
    ticks = rendering.depth_ticks(depths)

    assert [tick["depth"] for tick in ticks] == labels
    assert all(0 < tick["percent"] < 100 for tick in ticks)


def test_it_places_a_round_tick_between_the_rows_around_it():
    ticks = rendering.depth_ticks(np.array([9.0, 9.5, 10.5, 11.0]), count=2)  # 10 sits between rows 1 and 2

    assert {"depth": "10", "percent": 50.0} in ticks


def test_it_places_every_colormap_in_one_group():
    groups = rendering.colormap_groups()
    names = [choice.name for _label, choices in groups for choice in choices]

    assert sorted(names) == sorted(rendering.colormap_names())
    assert len(names) == len(set(names))
    miscellaneous = [choice.name for choice in groups[-1][1]]
    assert "okabe_ito" not in miscellaneous and "Grays" not in miscellaneous  # every name has its real group
    assert all(rendering.colormap_names()[choice.index] == choice.name for _, cs in groups for choice in cs)
