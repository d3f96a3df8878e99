from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from studio.portraits import references_prep
from studio.portraits.files import read_png_metadata, with_text_chunks
from studio.portraits.references_prep import ReferenceImageError, prepare_references


@pytest.fixture(autouse=True)
def _cold_cache():
    references_prep.forget_prepared()
    yield
    references_prep.forget_prepared()


def encoded(image: Image.Image, kind: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind)
    return buffer.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def photographic(width: int, height: int) -> Image.Image:
    """Noise over a smooth gradient: compresses like a photograph (about 1.7 bytes a pixel as PNG)."""
    rng = np.random.default_rng(7)
    base = np.linspace(0, 200, width * height * 3).reshape(height, width, 3)
    noise = rng.normal(0, 18, (height, width, 3))
    return Image.fromarray(np.clip(base + noise, 0, 255).astype("uint8"))


def test_it_prepares_each_image_as_png_within_1024_px_in_order_with_its_role_and_hash() -> None:
    tall = encoded(Image.new("RGB", (1024, 1536), (200, 30, 30)), "JPEG")
    small = encoded(Image.new("RGB", (300, 200), (30, 200, 30)))

    prepared = prepare_references(
        [tall, small], roles=["face", "outfit"], names=["Front", "Coat"], painter_seeds=[12, None]
    )

    assert [(p.role, p.name, p.painter_seed) for p in prepared] == [
        ("face", "Front", 12),
        ("outfit", "Coat", None),
    ]
    assert [opened(p.data).format for p in prepared] == ["PNG", "PNG"]
    assert [opened(p.data).size for p in prepared] == [(683, 1024), (300, 200)]
    assert [p.sha256 for p in prepared] == [hashlib.sha256(p.data).hexdigest() for p in prepared]


def test_it_defaults_roles_to_face_and_names_to_their_position() -> None:
    prepared = prepare_references([encoded(Image.new("RGB", (64, 64)))] * 2)

    assert [(p.role, p.name) for p in prepared] == [("face", "reference 1"), ("face", "reference 2")]


def test_it_drops_a_small_pngs_metadata_without_touching_its_pixels() -> None:
    original = encoded(Image.new("RGB", (256, 256), (10, 20, 30)))
    tagged = with_text_chunks(original, {"prompt": "Captain Isolde Marrow", "owner": "someone@example.com"})
    assert read_png_metadata(tagged)

    (prepared,) = prepare_references([tagged])

    assert read_png_metadata(prepared.data) == {}
    assert b"Isolde" not in prepared.data
    assert prepared.data == original  # the same chunks, byte for byte: nothing was re-encoded
    assert opened(prepared.data).tobytes() == opened(original).tobytes()


def test_it_shrinks_a_photographic_reference_under_the_byte_cap() -> None:
    photo = encoded(photographic(1024, 1024))
    assert len(photo) > 4 * references_prep.MAX_REFERENCE_BYTES / 2

    (prepared,) = prepare_references([photo])

    assert len(prepared.data) <= references_prep.MAX_REFERENCE_BYTES
    width, height = opened(prepared.data).size
    assert width == height and 256 <= width < 1024


def test_it_keeps_transparency() -> None:
    (prepared,) = prepare_references([encoded(Image.new("RGBA", (2048, 2048), (0, 0, 0, 0)))])

    assert opened(prepared.data).mode == "RGBA"
    assert opened(prepared.data).size == (1024, 1024)


def test_it_remembers_a_prepared_reference_by_its_source() -> None:
    tall = encoded(Image.new("RGB", (1024, 1536), (5, 5, 5)))

    first = prepare_references([tall], names=["a"])[0]
    again = prepare_references([tall], roles=["pose"], names=["b"])[0]

    assert again.data is first.data  # not decoded a second time
    assert (again.role, again.name) == ("pose", "b")


def test_it_names_an_image_it_cannot_read() -> None:
    with pytest.raises(ReferenceImageError) as caught:
        prepare_references([b"not an image at all"], names=["Isolde's sketch"])

    assert str(caught.value) == (
        'The reference image "Isolde\'s sketch" could not be read as an image; '
        "replace it with a PNG, JPEG or WebP."
    )


def test_it_refuses_a_huge_image_before_decoding_it() -> None:
    huge = encoded(Image.new("1", (8000, 6000)))

    with pytest.raises(ReferenceImageError) as caught:
        prepare_references([huge], names=["poster"])

    assert 'The reference image "poster" is 8000x6000 pixels' in str(caught.value)
