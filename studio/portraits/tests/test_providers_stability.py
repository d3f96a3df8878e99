from __future__ import annotations

import base64

import pytest

from studio.portraits.providers import ErrorKind, GenerationRequest, ProviderError, get_provider
from studio.tests.fakes import FakeStability, Reply, dropped_connection, png_bytes, stability_error


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def provider(fake_stability: FakeStability, sleeps: list[float]):
    provider = get_provider("stability")
    provider.sleep = sleeps.append
    return provider


def failure(provider, **request: object) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        provider.generate(GenerationRequest(prompt="An elven archer.", **request))
    return caught.value


def test_it_generates_with_core_sending_a_multipart_form(provider, fake_stability) -> None:
    result = provider.generate(
        GenerationRequest(
            prompt="An elven archer.",
            negative_prompt="blurry",
            size="1024x1536",
            seed=42,
            style="fantasy-art",
        )
    )

    sent = fake_stability.last
    assert sent.path == "/v2beta/stable-image/generate/core"
    assert sent.headers["authorization"] == "Bearer sk-stability-test"
    assert sent.headers["accept"] == "image/*"
    assert sent.headers["content-type"].startswith("multipart/form-data")
    assert sent.form == {
        "prompt": "An elven archer.",
        "negative_prompt": "blurry",
        "aspect_ratio": "2:3",
        "output_format": "png",
        "seed": "42",
        "style_preset": "fantasy-art",
    }
    assert result.images[0].data == png_bytes()
    assert result.images[0].seed == 42
    assert result.parameters == {
        "aspect_ratio": "2:3",
        "output_format": "png",
        "style_preset": "fantasy-art",
        "n": 1,
    }
    assert str(result.estimated_cost) == "0.0300"


def test_it_sends_sd3_models_to_the_sd3_endpoint_with_the_model_field(provider, fake_stability) -> None:
    provider.generate(
        GenerationRequest(prompt="An elven archer.", negative_prompt="blurry", model="sd3.5-large-turbo")
    )

    assert fake_stability.last.path == "/v2beta/stable-image/generate/sd3"
    assert fake_stability.last.form["model"] == "sd3.5-large-turbo"
    assert "negative_prompt" not in fake_stability.last.form  # turbo rejects it


def test_it_makes_one_call_per_image_with_consecutive_seeds(provider, fake_stability) -> None:
    result = provider.generate(GenerationRequest(prompt="An elven archer.", model="ultra", seed=7, count=2))

    assert [r.form["seed"] for r in fake_stability.requests] == ["7", "8"]
    assert [image.seed for image in result.images] == [7, 8]


def test_it_reads_a_json_image_response(provider, fake_stability) -> None:
    encoded = base64.b64encode(png_bytes()).decode()
    fake_stability.push(Reply(200, {"image": encoded, "finish_reason": "SUCCESS", "seed": 99}))

    result = provider.generate(GenerationRequest(prompt="An elven archer."))

    assert result.images[0].data == png_bytes()
    assert result.images[0].seed == 99


def test_it_treats_a_content_filtered_finish_reason_as_moderation(provider, fake_stability) -> None:
    fake_stability.push(
        Reply(
            200, body=png_bytes(), headers={"Content-Type": "image/png", "finish-reason": "CONTENT_FILTERED"}
        )
    )

    error = failure(provider)

    assert error.kind is ErrorKind.MODERATION
    assert "Stability AI's safety system declined this prompt" in error.message


@pytest.mark.parametrize(
    ("reply", "kind", "words"),
    [
        (
            stability_error(400, "bad_request", "aspect_ratio: must be one of 1:1, 16:9"),
            ErrorKind.INVALID_REQUEST,
            "aspect_ratio: must be one of 1:1, 16:9",
        ),
        (
            stability_error(401, "unauthorized", "authorization: invalid or missing"),
            ErrorKind.AUTH,
            "The Stability AI API key was rejected. Ask the studio admin to check STABILITY_API_KEY.",
        ),
        (
            stability_error(402, "payment_required", "You lack sufficient credits to make this request."),
            ErrorKind.QUOTA,
            "run out of credit",
        ),
        (
            stability_error(
                403, "content_moderation", "Your request was flagged by our content moderation system."
            ),
            ErrorKind.MODERATION,
            "safety system declined",
        ),
        (
            stability_error(413, "payload_too_large", "body: payloads cannot be larger than 10MiB in size"),
            ErrorKind.INVALID_REQUEST,
            "payloads cannot be larger",
        ),
        (
            stability_error(
                422, "invalid_language", "English is the only supported language for this service."
            ),
            ErrorKind.INVALID_REQUEST,
            "English is the only supported language",
        ),
    ],
)
def test_it_classifies_stability_errors_from_status_and_name(
    provider, fake_stability, sleeps, reply, kind, words
) -> None:
    fake_stability.push(reply)

    error = failure(provider)

    assert error.kind is kind
    assert words in error.message
    assert len(fake_stability.requests) == 1
    assert sleeps == []


def test_it_retries_rate_limits_and_server_errors(provider, fake_stability, sleeps) -> None:
    fake_stability.push(
        stability_error(
            429,
            "rate_limit_exceeded",
            "You have exceeded the rate limit of 150 requests within 10s",
            headers={"Retry-After": "3"},
        ),
        stability_error(500, "internal_error", "An unexpected server error occurred, please try again."),
    )

    result = provider.generate(GenerationRequest(prompt="An elven archer."))

    assert len(fake_stability.requests) == 3
    assert 3 <= sleeps[0] < 3.2
    assert result.images[0].format == "png"


def test_it_reports_a_non_image_body_as_malformed(provider, fake_stability) -> None:
    fake_stability.push(Reply(200, body=b"<html>oops</html>", headers={"Content-Type": "text/html"}))

    assert failure(provider).kind is ErrorKind.MALFORMED


def test_it_times_out_as_transient_without_repeating(settings, fake_stability, sleeps) -> None:
    settings.PROVIDER_TIMEOUT = 30  # the stability setting wins
    settings.STABILITY_TIMEOUT = 0.2
    provider = get_provider("stability")
    provider.sleep = sleeps.append
    fake_stability.push(Reply(200, body=png_bytes(), headers={"Content-Type": "image/png"}, delay=1.0))

    error = failure(provider)

    assert error.kind is ErrorKind.TRANSIENT
    assert error.maybe_billed
    assert len(fake_stability.requests) == 1


def test_it_refuses_unknown_models_without_building_a_url_from_them(provider, fake_stability) -> None:
    error = failure(provider, model="../../v1/user/balance")

    assert error.kind is ErrorKind.MODEL_UNAVAILABLE
    assert fake_stability.requests == []


def test_it_reports_an_endpoint_stability_retired_as_an_unavailable_model(provider, fake_stability) -> None:
    fake_stability.endpoints.discard("ultra")

    error = failure(provider, model="ultra")

    assert fake_stability.last.path == "/v2beta/stable-image/generate/ultra"
    assert error.kind is ErrorKind.MODEL_UNAVAILABLE
    assert error.status == 404
    assert error.message.startswith('The model "ultra" is not available from Stability AI')
    assert "STABILITY_MODEL" in error.message
    assert "is not a valid endpoint" in error.detail
    assert len(fake_stability.requests) == 1


def test_it_reads_the_message_of_a_not_found_error_without_an_errors_list(provider, fake_stability) -> None:
    # The v1 engines' shape, which Stability still sends for unknown engines: "message", not "errors".
    fake_stability.push(
        Reply(
            404,
            {
                "id": "0f91b262f6b5728385f167fe34688ec8",
                "message": "The specified engine (ID sd3.5-medium) was not found.",
                "name": "not_found",
            },
        )
    )

    error = failure(provider, model="sd3.5-medium")

    assert error.kind is ErrorKind.MODEL_UNAVAILABLE
    assert '"sd3.5-medium"' in error.message
    assert error.detail == "The specified engine (ID sd3.5-medium) was not found."


def test_it_reports_a_dropped_connection_as_transient_without_repeating(
    provider, fake_stability, sleeps
) -> None:
    fake_stability.push(dropped_connection())

    error = failure(provider)

    assert error.kind is ErrorKind.TRANSIENT
    assert error.maybe_billed
    assert error.message == (
        "Stability AI did not answer in time (or dropped the connection) after the request was sent, "
        "so it may have made the image and billed it. Retry to send a new (paid) request."
    )
    assert len(fake_stability.requests) == 1
    assert sleeps == []


def test_it_reuses_one_connection_across_jobs(fake_stability) -> None:
    """A worker makes a fresh provider per job; the thread's requests session keeps the connection."""
    for prompt in ("A weathered sea captain.", "A lighthouse keeper."):
        get_provider("stability").generate(GenerationRequest(prompt=prompt))

    first, second = fake_stability.requests
    assert first.client_port == second.client_port
    assert second.headers["authorization"] == "Bearer sk-stability-test"


def test_it_opens_a_new_connection_after_the_session_sat_idle(fake_stability, monkeypatch) -> None:
    """A connection idle for long may have been dropped silently by a NAT; a request on it could not be
    retried safely, so an idle session is replaced."""
    from studio.portraits.providers import remote

    monkeypatch.setattr(remote, "SESSION_IDLE_SECONDS", 0.0)
    for prompt in ("A weathered sea captain.", "A lighthouse keeper."):
        get_provider("stability").generate(GenerationRequest(prompt=prompt))

    first, second = fake_stability.requests
    assert first.client_port != second.client_port
