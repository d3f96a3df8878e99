from __future__ import annotations

import io

import pytest
from PIL import Image

from studio.portraits.providers import ErrorKind, GenerationRequest, ProviderError, get_provider

# The painter is its own module (studio/painter.py); these run once it is in the tree.
painter = pytest.importorskip("studio.painter")


def test_it_paints_from_the_character_attributes_at_the_requested_size() -> None:
    result = get_provider("local").generate(
        GenerationRequest(prompt="ignored", attributes={"hair_color": "auburn"}, size="512x512", seed=3)
    )

    image = result.images[0]
    with Image.open(io.BytesIO(image.data)) as opened:
        assert opened.format == "PNG"
        assert opened.size == (512, 512)
    assert image.seed == 3
    assert result.model == "painter-v1"
    assert result.estimated_cost == 0


def test_it_paints_the_same_image_for_the_same_seed_and_a_different_one_otherwise() -> None:
    local = get_provider("local")
    request = GenerationRequest(
        prompt="Portrait of a young adult woman with green eyes.", size="256x256", seed=11
    )

    first, again = local.generate(request), local.generate(request)
    other = local.generate(GenerationRequest(prompt=request.prompt, size="256x256", seed=12))

    assert first.images[0].data == again.images[0].data
    assert first.images[0].data != other.images[0].data


def test_it_is_always_configured_and_free() -> None:
    local = get_provider("local")

    assert local.is_configured()
    assert local.estimate_cost("painter-v1", "", "1024x1024", 4) == 0


def test_it_refuses_an_unknown_local_model() -> None:
    with pytest.raises(ProviderError) as caught:
        get_provider("local").generate(GenerationRequest(prompt="A monk.", model="painter-v9"))

    assert caught.value.kind is ErrorKind.MODEL_UNAVAILABLE
