from __future__ import annotations

import datetime as dt
import socket
import time

import openai
import pytest

from studio.portraits.providers import ErrorKind, GenerationRequest, ProviderError, get_provider
from studio.portraits.providers.openai_images import OpenAIProvider
from studio.tests.fakes import (
    FakeOpenAI,
    Reply,
    dropped_connection,
    openai_error,
    openai_unverified_organization,
    png_bytes,
)

# Providers look up announced shutdown dates in the shared cache (a database table unless Redis is set).
pytestmark = pytest.mark.django_db


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def provider(fake_openai: FakeOpenAI, sleeps: list[float]) -> OpenAIProvider:
    provider = get_provider("openai")
    provider.sleep = sleeps.append
    return provider  # type: ignore[return-value]


def failure(provider: OpenAIProvider, **request: object) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        provider.generate(GenerationRequest(prompt="A weathered sea captain.", **request))  # type: ignore[arg-type]
    return caught.value


def test_it_generates_with_gpt_image_sending_output_format_and_no_legacy_fields(
    provider, fake_openai
) -> None:
    result = provider.generate(
        GenerationRequest(prompt="A weathered sea captain.", size="1024x1536", quality="high", style="vivid")
    )

    sent = fake_openai.last
    assert (sent.method, sent.path) == ("POST", "/v1/images/generations")
    assert sent.headers["authorization"] == "Bearer sk-test-key"
    assert sent.json == {
        "model": "gpt-image-2",
        "prompt": "A weathered sea captain.",
        "size": "1024x1536",
        "quality": "high",
        "output_format": "png",
        "n": 1,
    }
    assert result.images[0].data == png_bytes()
    assert result.images[0].format == "png"
    assert result.model == "gpt-image-2"
    assert result.usage["output_tokens"] == 5488  # OpenAI's count for one high 1024x1536 image
    assert result.parameters == {"size": "1024x1536", "quality": "high", "output_format": "png", "n": 1}
    assert result.estimated_cost > 0


def test_it_maps_studio_sizes_and_qualities_onto_gpt_image_values(provider, fake_openai) -> None:
    provider.generate(
        GenerationRequest(prompt="A bard.", model="gpt-image-1.5", size="2:3", quality="hd", count=2)
    )

    assert fake_openai.last.json["size"] == "1024x1536"
    assert fake_openai.last.json["quality"] == "high"
    assert fake_openai.last.json["n"] == 2


def test_it_passes_free_sizes_to_gpt_image_2_and_gpt_image_options(provider, fake_openai) -> None:
    provider.generate(
        GenerationRequest(
            prompt="A bard.",
            size="1536x864",
            options={"output_format": "webp", "background": "opaque", "moderation": "low"},
        )
    )

    assert fake_openai.last.json["size"] == "1536x864"
    assert fake_openai.last.json["output_format"] == "webp"
    assert fake_openai.last.json["background"] == "opaque"
    assert fake_openai.last.json["moderation"] == "low"


@pytest.mark.parametrize(
    ("model", "words"),
    [
        ("dall-e-3", "dall-e-3 was retired on 2026-05-12; use gpt-image-2."),
        ("dall-e-2", "dall-e-2 was retired on 2026-05-12; use gpt-image-2."),
        ("gpt-image-1", "gpt-image-1 was retired on 2026-10-23; use gpt-image-2.5-sunburst."),
    ],
)
def test_it_refuses_a_retired_model_before_sending_anything(provider, fake_openai, model, words) -> None:
    error = failure(provider, model=model)

    assert error.kind is ErrorKind.MODEL_UNAVAILABLE
    assert error.message == words
    assert fake_openai.requests == []


def test_a_retired_default_model_fails_before_any_request(settings, provider, fake_openai) -> None:
    settings.OPENAI_IMAGE_MODEL = "dall-e-3"

    error = failure(provider)

    assert error.message == "dall-e-3 was retired on 2026-05-12; use gpt-image-2."
    assert fake_openai.requests == []


def test_it_offers_every_current_sdk_model_and_no_retired_one(provider) -> None:
    offered = [value for value, _label in provider.models]

    assert offered == [
        "gpt-image-2",
        "gpt-image-2-2026-04-21",
        "gpt-image-2.5-sunburst",
        "gpt-image-2.5-sunburst-2026-09-08",
        "gpt-image-2.5-flare",
        "gpt-image-2.5-flare-2026-09-08",
        "gpt-image-2.6-sunburst",
        "gpt-image-2.6-flare",
        "gpt-image-1.5",
        "gpt-image-1-mini",
        "chatgpt-image-latest",
    ]
    assert not {"dall-e-2", "dall-e-3", "gpt-image-1"} & set(offered)


def test_it_sends_gpt_image_2_5_its_xhigh_and_max_qualities_and_free_sizes(provider, fake_openai) -> None:
    provider.generate(
        GenerationRequest(prompt="A bard.", model="gpt-image-2.5-flare", quality="max", size="2048x1152")
    )

    assert (fake_openai.last.json["quality"], fake_openai.last.json["size"]) == ("max", "2048x1152")
    assert [value for value, _ in provider.qualities_for("gpt-image-2.5-sunburst")] == [
        "auto", "low", "medium", "high", "xhigh", "max"
    ]  # fmt: skip


def test_it_gives_2_6_complexity_and_standard_sizes_only(provider, fake_openai) -> None:
    provider.generate(
        GenerationRequest(
            prompt="A bard.", model="gpt-image-2.6-sunburst", size="1536x864", options={"complexity": "high"}
        )
    )

    assert fake_openai.last.json["complexity"] == "high"
    assert fake_openai.last.json["size"] == "1536x1024"  # no free sizes on 2.6: the nearest standard one


def test_it_refuses_values_a_model_cannot_take_without_calling(provider, fake_openai) -> None:
    bad_quality = failure(provider, quality="ultra")
    no_max = failure(provider, model="gpt-image-2", quality="max")
    no_complexity = failure(provider, model="gpt-image-2", options={"complexity": "high"})
    no_transparent = failure(provider, model="gpt-image-2.6-flare", options={"background": "transparent"})
    transparent_jpeg = failure(
        provider, model="gpt-image-2.5-flare", options={"background": "transparent", "output_format": "jpeg"}
    )

    assert bad_quality.kind is ErrorKind.INVALID_REQUEST
    assert 'quality "ultra"' in bad_quality.message
    assert 'quality "max" is not one of auto, low, medium, high' in no_max.message
    assert no_complexity.kind is ErrorKind.INVALID_REQUEST  # complexity is not one of its options
    assert 'background "transparent" is not one of auto, opaque' in no_transparent.message
    assert "transparent background needs PNG or WebP" in transparent_jpeg.message
    assert fake_openai.requests == []


@pytest.mark.parametrize(
    ("reply", "kind", "words"),
    [
        (
            openai_error(
                400,
                "Your request was rejected by the safety system.",
                code="moderation_blocked",
                type="image_generation_user_error",
            ),
            ErrorKind.MODERATION,
            "OpenAI's safety system declined this prompt",
        ),
        (
            openai_error(
                400,
                "Your request was rejected as a result of our safety system.",
                code="content_policy_violation",
            ),
            ErrorKind.MODERATION,
            "Reword the prompt (for a character: its description",
        ),
        (
            openai_error(401, "Incorrect API key provided: sk-wrong.", code="invalid_api_key"),
            ErrorKind.AUTH,
            "The OpenAI API key was rejected. Ask the studio admin to check OPENAI_API_KEY.",
        ),
        (
            openai_error(
                404,
                "The model `gpt-image-9` does not exist or you do not have access to it.",
                code="model_not_found",
            ),
            ErrorKind.MODEL_UNAVAILABLE,
            'The model "gpt-image-2" is not available from OpenAI',
        ),
        (
            openai_error(
                429,
                "You exceeded your current quota, please check your plan and billing details.",
                type="insufficient_quota",
                code="insufficient_quota",
            ),
            ErrorKind.QUOTA,
            "run out of credit",
        ),
        (
            openai_error(400, "Billing hard limit has been reached.", code="billing_hard_limit_reached"),
            ErrorKind.QUOTA,
            "run out of credit",
        ),
        (
            openai_error(
                400,
                "Invalid value: '7x7'. Supported values are: '1024x1024'.",
                param="size",
                code="invalid_value",
            ),
            ErrorKind.INVALID_REQUEST,
            "Invalid value: '7x7'",
        ),
    ],
)
def test_it_classifies_openai_errors_from_their_status_and_code(
    provider, fake_openai, sleeps, reply, kind, words
) -> None:
    fake_openai.push(reply)

    error = failure(provider)

    assert error.kind is kind
    assert words in error.message
    assert error.status == reply.status
    assert len(fake_openai.requests) == 1  # none of these is retried
    assert sleeps == []


def test_it_retries_a_rate_limit_after_retry_after_then_succeeds(provider, fake_openai, sleeps) -> None:
    fake_openai.push(
        openai_error(
            429,
            "Rate limit reached for images per minute.",
            type="requests",
            code="rate_limit_exceeded",
            headers={"Retry-After": "2"},
        )
    )

    result = provider.generate(GenerationRequest(prompt="A bard."))

    assert len(fake_openai.requests) == 2
    assert 2 <= sleeps[0] < 2.2
    assert result.images[0].data == png_bytes()


def test_it_does_not_retry_before_a_retry_after_longer_than_the_cap(provider, fake_openai, sleeps) -> None:
    fake_openai.push(
        openai_error(
            429,
            "Rate limit reached for gpt-image-2 in organization org-abc on images per minute (IPM).",
            type="requests",
            code="rate_limit_exceeded",
            headers={"Retry-After": "300"},
        )
    )

    error = failure(provider)

    assert error.kind is ErrorKind.RATE_LIMITED
    assert error.retry_after == 300
    assert error.message == (
        "OpenAI is receiving too many requests from the studio right now. Try again in about 5 minutes."
    )
    assert len(fake_openai.requests) == 1
    assert sleeps == []


def test_it_reports_a_rate_limit_that_outlasts_every_attempt(provider, fake_openai, sleeps) -> None:
    for _ in range(3):
        fake_openai.push(openai_error(429, "Rate limit reached.", code="rate_limit_exceeded"))

    error = failure(provider)

    assert error.kind is ErrorKind.RATE_LIMITED
    assert len(fake_openai.requests) == 3
    assert len(sleeps) == 2


def test_it_retries_server_errors_as_transient(provider, fake_openai, sleeps) -> None:
    fake_openai.push(
        openai_error(500, "The server had an error while processing your request.", type="server_error")
    )
    fake_openai.push(openai_error(503, "The engine is currently overloaded.", type="server_error"))

    result = provider.generate(GenerationRequest(prompt="A bard."))

    assert len(fake_openai.requests) == 3
    assert len(result.images) == 1


def test_it_turns_a_timeout_into_a_transient_error_without_repeating_the_paid_call(
    settings, fake_openai, sleeps
) -> None:
    settings.PROVIDER_TIMEOUT = 30  # the openai setting wins
    settings.OPENAI_TIMEOUT = 0.2
    provider = get_provider("openai")
    provider.sleep = sleeps.append
    fake_openai.push(Reply(200, {"created": 1, "data": []}, delay=1.0))

    error = failure(provider)

    assert error.kind is ErrorKind.TRANSIENT
    assert error.maybe_billed
    assert "did not answer in time (or dropped the connection) after the request was sent" in error.message
    assert "may have made the image and billed it" in error.message and "Retry" in error.message
    assert len(fake_openai.requests) == 1


def test_it_gives_the_client_the_openai_timeout_and_a_short_connect_timeout(settings) -> None:
    settings.OPENAI_API_KEY = "sk-x"
    settings.OPENAI_TIMEOUT = 90

    client = get_provider("openai").client

    assert client.timeout == openai.Timeout(90, connect=10)


def test_it_lists_models_with_the_short_check_timeout_not_the_generation_one(settings, fake_openai) -> None:
    settings.OPENAI_TIMEOUT = 30
    settings.PROVIDER_CHECK_TIMEOUT = 0.2
    provider = get_provider("openai")
    fake_openai.push(Reply(200, {"object": "list", "data": fake_openai.models}, delay=1.0))
    started = time.monotonic()

    with pytest.raises(ProviderError) as caught:
        provider.list_image_models()

    assert time.monotonic() - started < 0.9
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert "OpenAI did not answer in time" in caught.value.message
    assert provider.list_image_models().ids == ["gpt-image-1-mini", "gpt-image-2"]  # the same client works on


def test_it_retries_when_the_connection_is_refused(settings, sleeps) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.OPENAI_API_KEY = "sk-x"
    settings.OPENAI_BASE_URL = f"http://127.0.0.1:{port}/v1"
    provider = get_provider("openai")
    provider.sleep = sleeps.append

    error = failure(provider)

    assert error.kind is ErrorKind.TRANSIENT
    assert not error.maybe_billed
    assert len(sleeps) == 2  # three attempts


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, body=b'{"created": 1, "data": [', headers={"Content-Type": "application/json"}),
        Reply(200, body=b"<html>gateway</html>", headers={"Content-Type": "text/html"}),
        Reply(200, {"created": 1, "data": [{"url": "https://example.com/x.png"}]}),
        Reply(200, {"created": 1, "data": [{"b64_json": "bm90IGFuIGltYWdl"}]}),
        Reply(200, {"created": 1, "data": []}),
    ],
)
def test_it_reports_unreadable_success_responses_as_malformed(provider, fake_openai, sleeps, reply) -> None:
    fake_openai.push(reply)

    error = failure(provider)

    assert error.kind is ErrorKind.MALFORMED
    assert "could not read" in error.message
    assert len(fake_openai.requests) == 1


def test_it_lists_image_models_with_shutdown_warnings(provider, fake_openai) -> None:
    fake_openai.models = [
        {"id": "gpt-image-2", "object": "model", "created": 1776729600, "owned_by": "system"},
        {
            "id": "gpt-image-1.5",
            "object": "model",
            "created": 1765000000,
            "owned_by": "system",
            "shutdown_date": "2027-06-01",
        },
        {"id": "dall-e-3", "object": "model", "created": 1698785189, "owned_by": "system"},
        {"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "system"},
    ]

    listing = provider.list_image_models(today=dt.date(2026, 11, 21))

    assert fake_openai.last.path == "/v1/models"
    assert listing.ids == ["dall-e-3", "gpt-image-1.5", "gpt-image-2"]
    assert [model.id for model in listing.models if model.retired] == ["dall-e-3"]
    assert listing.warnings == [
        'OpenAI model "dall-e-3" was shut down on 2026-05-12; choose a current GPT Image model.',
        'OpenAI model "gpt-image-1.5" will shut down on 2027-06-01; choose a current GPT Image model.',
    ]


def test_it_warns_when_the_configured_model_is_retired(settings, provider, fake_openai) -> None:
    settings.OPENAI_IMAGE_MODEL = "gpt-image-1"
    provider = get_provider("openai")

    listing = provider.list_image_models()

    assert listing.warnings[-1] == (
        "OPENAI_IMAGE_MODEL is set to a retired model: gpt-image-1 was retired on 2026-10-23; "
        "use gpt-image-2.5-sunburst."
    )


def test_it_classifies_errors_when_listing_models(settings, fake_openai) -> None:
    settings.OPENAI_API_KEY = "sk-wrong"

    with pytest.raises(ProviderError) as caught:
        get_provider("openai").list_image_models()

    assert caught.value.kind is ErrorKind.AUTH


def test_it_tells_the_admin_to_verify_the_organization_on_a_403_for_the_model(
    provider, fake_openai, sleeps
) -> None:
    fake_openai.push(openai_unverified_organization("gpt-image-2"))

    error = failure(provider)

    assert error.kind is ErrorKind.MODEL_UNAVAILABLE
    assert error.status == 403
    assert error.message == (
        'The model "gpt-image-2" needs a verified OpenAI organization. Ask the studio admin to verify '
        "the organization in the provider's settings (it can take a few minutes to apply), or choose "
        "another model."
    )
    assert "must be verified" in error.detail
    assert len(fake_openai.requests) == 1
    assert sleeps == []


def test_it_calls_other_403s_a_rejected_key(provider, fake_openai) -> None:
    fake_openai.push(
        openai_error(
            403,
            "Country, region, or territory not supported",
            type="request_forbidden",
            code="unsupported_country_region_territory",
        )
    )

    error = failure(provider)

    assert error.kind is ErrorKind.AUTH
    assert "The OpenAI API key was rejected" in error.message


def test_it_reports_a_dropped_connection_as_transient_without_repeating(
    provider, fake_openai, sleeps
) -> None:
    fake_openai.push(dropped_connection())

    error = failure(provider)

    assert error.kind is ErrorKind.TRANSIENT
    assert error.maybe_billed
    assert "may have made the image and billed it" in error.message
    assert len(fake_openai.requests) == 1
    assert sleeps == []


def test_it_reuses_one_connection_across_jobs(fake_openai) -> None:
    """A worker makes a fresh provider per job; the SDK client (and its connection) is kept per process."""
    for prompt in ("A weathered sea captain.", "A lighthouse keeper."):
        get_provider("openai").generate(GenerationRequest(prompt=prompt))

    first, second = fake_openai.requests
    assert first.client_port == second.client_port


def test_it_makes_a_new_client_when_the_key_changes(settings, fake_openai) -> None:
    before = get_provider("openai").client
    settings.OPENAI_API_KEY = "sk-rotated-key"

    after = get_provider("openai").client

    assert after is not before
    assert after.api_key == "sk-rotated-key"
