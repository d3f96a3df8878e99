from __future__ import annotations

import pytest

from studio.portraits.providers import ErrorKind, GenerationRequest, ProviderError, get_provider
from studio.tests.fakes import (
    HF_RETIRED,
    FakeHuggingFace,
    Reply,
    dropped_connection,
    hf_error,
    jpeg_bytes,
    png_bytes,
)

SDXL = "stabilityai/stable-diffusion-xl-base-1.0"


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def provider(fake_huggingface: FakeHuggingFace, sleeps: list[float]):
    provider = get_provider("huggingface")
    provider.sleep = sleeps.append
    return provider


def failure(provider, **request: object) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        provider.generate(GenerationRequest(prompt="A dwarven smith.", **request))
    return caught.value


def test_it_generates_by_posting_inputs_and_parameters_to_the_router(provider, fake_huggingface) -> None:
    result = provider.generate(
        GenerationRequest(
            prompt="A dwarven smith.",
            negative_prompt="text",
            size="832x1216",
            seed=5,
            options={"num_inference_steps": 4},
        )
    )

    sent = fake_huggingface.last
    assert sent.path == "/hf-inference/models/black-forest-labs/FLUX.1-schnell"
    assert sent.headers["authorization"] == "Bearer hf_test_token"
    assert sent.json == {
        "inputs": "A dwarven smith.",
        "parameters": {
            "negative_prompt": "text",
            "width": 832,
            "height": 1216,
            "num_inference_steps": 4,
            "seed": 5,
        },
    }
    assert result.images[0].data == png_bytes()
    assert result.parameters == {"num_inference_steps": 4, "size": "832x1216", "n": 1}


def test_it_turns_aspect_ratios_into_pixel_sizes(provider, fake_huggingface) -> None:
    provider.generate(GenerationRequest(prompt="A dwarven smith.", size="2:3"))

    assert (
        fake_huggingface.last.json["parameters"]["width"],
        fake_huggingface.last.json["parameters"]["height"],
    ) == (
        688,
        1024,
    )


def test_it_accepts_jpeg_and_converts_it_to_png_on_request(provider, fake_huggingface) -> None:
    fake_huggingface.push(Reply(200, body=jpeg_bytes(), headers={"Content-Type": "image/jpeg"}))

    image = provider.generate(GenerationRequest(prompt="A dwarven smith.")).images[0]

    assert image.format == "jpeg"
    assert image.as_png().startswith(b"\x89PNG")


def test_it_waits_for_a_loading_model_then_succeeds(provider, fake_huggingface, sleeps) -> None:
    fake_huggingface.push(
        hf_error(503, "Model black-forest-labs/FLUX.1-schnell is currently loading", estimated_time=20.0)
    )

    result = provider.generate(GenerationRequest(prompt="A dwarven smith."))

    assert len(fake_huggingface.requests) == 2
    assert 20 <= sleeps[0] < 20.2
    assert result.images[0].data == png_bytes()


def test_it_caps_the_loading_wait_and_gives_up_after_the_last_attempt(
    settings, fake_huggingface, sleeps
) -> None:
    settings.HUGGINGFACE_MAX_LOADING_WAIT = 45
    provider = get_provider("huggingface")
    provider.sleep = sleeps.append
    for _ in range(3):
        fake_huggingface.push(hf_error(503, "Model is currently loading", estimated_time=600.0))

    error = failure(provider)

    assert error.kind is ErrorKind.TRANSIENT
    assert len(fake_huggingface.requests) == 3
    assert sleeps == [pytest.approx(45, abs=0.2)] * 2


@pytest.mark.parametrize(
    ("reply", "kind", "words"),
    [
        (
            hf_error(401, "Invalid credentials in Authorization header"),
            ErrorKind.AUTH,
            "The Hugging Face API key was rejected. Ask the studio admin to check HUGGINGFACE_API_TOKEN.",
        ),
        (
            hf_error(402, "You have exceeded your monthly included credits for Inference Providers."),
            ErrorKind.QUOTA,
            "run out of credit",
        ),
        (
            hf_error(404, "Model black-forest-labs/FLUX.1-schnell does not exist"),
            ErrorKind.MODEL_UNAVAILABLE,
            'The model "black-forest-labs/FLUX.1-schnell" is not available from Hugging Face',
        ),
        (
            hf_error(400, "Input validation error: `inputs` must be non-empty"),
            ErrorKind.INVALID_REQUEST,
            "Input validation error",
        ),
    ],
)
def test_it_classifies_hugging_face_errors(provider, fake_huggingface, sleeps, reply, kind, words) -> None:
    fake_huggingface.push(reply)

    error = failure(provider)

    assert error.kind is kind
    assert words in error.message
    assert len(fake_huggingface.requests) == 1


def test_it_retries_a_rate_limit(provider, fake_huggingface, sleeps) -> None:
    fake_huggingface.push(hf_error(429, "Rate limit reached. You reached free usage limit (reset hourly)."))

    provider.generate(GenerationRequest(prompt="A dwarven smith."))

    assert len(fake_huggingface.requests) == 2
    assert len(sleeps) == 1


def test_it_fails_a_rate_limit_whose_retry_after_outlasts_the_cap(provider, fake_huggingface, sleeps) -> None:
    fake_huggingface.push(
        hf_error(
            429, "Rate limit reached. You reached free usage limit (reset hourly).", {"Retry-After": "3600"}
        )
    )

    error = failure(provider)

    assert error.kind is ErrorKind.RATE_LIMITED
    assert error.message.endswith("Try again in about 60 minutes.")
    assert len(fake_huggingface.requests) == 1
    assert sleeps == []


def test_it_reports_json_where_an_image_should_be_as_malformed(provider, fake_huggingface) -> None:
    fake_huggingface.push(Reply(200, [{"generated_text": "not an image"}]))

    assert failure(provider).kind is ErrorKind.MALFORMED


def test_it_times_out_as_transient_without_repeating(settings, fake_huggingface, sleeps) -> None:
    settings.PROVIDER_TIMEOUT = 30  # the huggingface setting wins
    settings.HUGGINGFACE_TIMEOUT = 0.2
    provider = get_provider("huggingface")
    provider.sleep = sleeps.append
    fake_huggingface.push(Reply(200, body=png_bytes(), headers={"Content-Type": "image/png"}, delay=1.0))

    error = failure(provider)

    assert error.kind is ErrorKind.TRANSIENT
    assert len(fake_huggingface.requests) == 1


def test_it_refuses_model_ids_that_are_not_owner_slash_name(provider, fake_huggingface) -> None:
    error = failure(provider, model="../../api/whoami")

    assert error.kind is ErrorKind.MODEL_UNAVAILABLE
    assert fake_huggingface.requests == []


def test_it_reports_a_model_the_router_retired_as_unavailable_naming_it(provider, fake_huggingface) -> None:
    error = failure(provider, model=SDXL)

    assert fake_huggingface.last.path == f"/hf-inference/models/{SDXL}"
    assert error.kind is ErrorKind.MODEL_UNAVAILABLE
    assert error.status == 410
    assert error.message.startswith(f'The model "{SDXL}" is not available from Hugging Face')
    assert "HUGGINGFACE_MODEL" in error.message
    assert HF_RETIRED in error.detail
    assert len(fake_huggingface.requests) == 1


def test_it_reports_a_model_hf_inference_does_not_serve_as_unavailable(provider, fake_huggingface) -> None:
    error = failure(provider, model="runwayml/stable-diffusion-v1-5")

    assert error.kind is ErrorKind.MODEL_UNAVAILABLE
    assert '"runwayml/stable-diffusion-v1-5"' in error.message
    assert len(fake_huggingface.requests) == 1


def test_it_no_longer_offers_models_hf_inference_retired() -> None:
    from studio.portraits.providers.huggingface import HuggingFaceProvider

    offered = [value for value, _ in HuggingFaceProvider.models]
    assert SDXL not in offered
    assert HuggingFaceProvider.default_model_fallback == offered[0] == "black-forest-labs/FLUX.1-schnell"


@pytest.mark.parametrize(
    "reply",
    [
        hf_error(500, "Internal Server Error"),
        hf_error(503, "Service Unavailable"),  # no estimated_time: not a loading model
        Reply(504, body=b"<html><h1>504 Gateway Time-out</h1></html>", headers={"Content-Type": "text/html"}),
    ],
)
def test_it_retries_server_errors_without_a_loading_estimate_with_backoff(
    provider, fake_huggingface, sleeps, reply
) -> None:
    fake_huggingface.push(reply)

    result = provider.generate(GenerationRequest(prompt="A dwarven smith."))

    assert len(fake_huggingface.requests) == 2
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 1  # base backoff, not a loading wait
    assert result.images[0].data == png_bytes()


def test_it_gives_up_on_repeated_server_errors_as_transient(provider, fake_huggingface, sleeps) -> None:
    for _ in range(3):
        fake_huggingface.push(hf_error(500, "Internal Server Error"))

    error = failure(provider)

    assert error.kind is ErrorKind.TRANSIENT
    assert error.status == 500
    assert error.message == (
        "Hugging Face did not answer in time or had a temporary fault. Try again in a few minutes."
    )
    assert len(fake_huggingface.requests) == 3


def test_it_reports_a_dropped_connection_as_transient_without_repeating(
    provider, fake_huggingface, sleeps
) -> None:
    fake_huggingface.push(dropped_connection())

    error = failure(provider)

    assert error.kind is ErrorKind.TRANSIENT
    assert error.maybe_billed  # the request was sent: the image may have been made and charged
    assert "may have made the image and billed it" in error.message
    assert len(fake_huggingface.requests) == 1
    assert sleeps == []
