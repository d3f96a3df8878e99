from __future__ import annotations

from decimal import Decimal

import pytest

from studio.portraits.providers import (
    ErrorKind,
    GenerationRequest,
    ProviderError,
    UnknownProviderError,
    available_providers,
    call_with_retries,
    configured_providers,
    get_provider,
    prompt_limits,
    provider_choices,
)
from studio.portraits.providers.base import nearest_by_aspect, parse_retry_after, retry_delay
from studio.portraits.providers.pricing import estimate_cost


class Flaky:
    """Fails with the given errors in turn, then returns "done"."""

    def __init__(self, *errors: ProviderError) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def test_it_retries_rate_limits_and_transient_faults_then_returns_the_result() -> None:
    sleeps: list[float] = []
    flaky = Flaky(ProviderError(ErrorKind.RATE_LIMITED), ProviderError(ErrorKind.TRANSIENT))

    result = call_with_retries(flaky, max_attempts=3, base_delay=1, max_delay=10, sleep=sleeps.append)

    assert result == "done"
    assert flaky.calls == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    "kind",
    [
        ErrorKind.MODERATION,
        ErrorKind.QUOTA,
        ErrorKind.AUTH,
        ErrorKind.MODEL_UNAVAILABLE,
        ErrorKind.MALFORMED,
        ErrorKind.INVALID_REQUEST,
    ],
)
def test_it_never_retries_errors_that_would_fail_again(kind: ErrorKind) -> None:
    sleeps: list[float] = []
    flaky = Flaky(ProviderError(kind))

    with pytest.raises(ProviderError) as caught:
        call_with_retries(flaky, max_attempts=5, sleep=sleeps.append)

    assert caught.value.kind is kind
    assert flaky.calls == 1
    assert sleeps == []


def test_it_does_not_repeat_a_call_that_may_already_have_been_billed() -> None:
    flaky = Flaky(ProviderError(ErrorKind.TRANSIENT, maybe_billed=True))

    with pytest.raises(ProviderError):
        call_with_retries(flaky, max_attempts=3, sleep=lambda _: None)

    assert flaky.calls == 1


def test_it_gives_up_after_max_attempts_with_the_last_error() -> None:
    flaky = Flaky(*(ProviderError(ErrorKind.TRANSIENT, detail=f"fault {n}") for n in range(5)))

    with pytest.raises(ProviderError) as caught:
        call_with_retries(flaky, max_attempts=3, sleep=lambda _: None)

    assert flaky.calls == 3
    assert caught.value.detail == "fault 2"


def test_it_backs_off_exponentially_with_jitter_up_to_the_cap() -> None:
    sleeps: list[float] = []
    flaky = Flaky(*(ProviderError(ErrorKind.TRANSIENT) for _ in range(5)))

    with pytest.raises(ProviderError):
        call_with_retries(
            flaky, max_attempts=5, base_delay=1, max_delay=4, sleep=sleeps.append, jitter=lambda: 1.0
        )

    assert sleeps == [1, 2, 4, 4]
    assert retry_delay(3, None, 1, 100, jitter=lambda: 0.0) == 2  # half the backoff is fixed


def test_it_honours_retry_after_within_the_cap() -> None:
    sleeps: list[float] = []
    flaky = Flaky(
        ProviderError(ErrorKind.RATE_LIMITED, retry_after=7),
        ProviderError(ErrorKind.RATE_LIMITED, retry_after=30),
    )

    call_with_retries(
        flaky, max_attempts=3, base_delay=1, max_delay=30, sleep=sleeps.append, jitter=lambda: 0.0
    )

    assert sleeps == [7, 30]


def test_it_fails_at_once_when_retry_after_is_longer_than_the_cap_saying_when_to_try_again() -> None:
    sleeps: list[float] = []
    flaky = Flaky(
        ProviderError(ErrorKind.RATE_LIMITED, retry_after=7),
        ProviderError(ErrorKind.RATE_LIMITED, retry_after=3600),
    )

    with pytest.raises(ProviderError) as caught:
        call_with_retries(flaky, max_attempts=5, base_delay=1, max_delay=30, sleep=sleeps.append)

    # A retry sent before the server's time is refused again, and may count against the limit.
    assert flaky.calls == 2
    assert sleeps == [pytest.approx(7, abs=0.2)]
    assert caught.value.kind is ErrorKind.RATE_LIMITED
    assert caught.value.message.endswith("Try again in about 60 minutes.")


@pytest.mark.parametrize(
    ("retry_after", "words"),
    [
        (None, "Wait a minute and try again."),
        (45, "Wait a minute and try again."),
        (61, "Try again in about 2 minutes."),
        (600, "Try again in about 10 minutes."),
        (3 * 3600, "Try again in about 3 hours."),
    ],
)
def test_it_words_when_to_try_again_after_a_rate_limit(settings, retry_after, words) -> None:
    message = get_provider("openai").error(ErrorKind.RATE_LIMITED, retry_after=retry_after).message

    assert message == f"OpenAI is receiving too many requests from the studio right now. {words}"


def test_it_reads_retry_after_in_seconds_milliseconds_and_http_dates() -> None:
    assert parse_retry_after({"Retry-After": "12"}) == 12
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None


def test_it_only_calls_rate_limits_and_transient_faults_retryable() -> None:
    assert {kind for kind in ErrorKind if kind.retryable} == {ErrorKind.RATE_LIMITED, ErrorKind.TRANSIENT}


def test_it_words_each_error_kind_for_users_with_what_to_do(settings) -> None:
    provider = get_provider("openai")

    auth = provider.error(ErrorKind.AUTH, "Incorrect API key provided")
    model = provider.error(ErrorKind.MODEL_UNAVAILABLE, "model_not_found", model="dall-e-3")
    invalid = provider.error(ErrorKind.INVALID_REQUEST, "Invalid size '7x7'.")

    assert auth.message == "The OpenAI API key was rejected. Ask the studio admin to check OPENAI_API_KEY."
    assert '"dall-e-3"' in model.message
    assert "OPENAI_IMAGE_MODEL" in model.message
    assert (
        invalid.message
        == "OpenAI could not accept the request: Invalid size '7x7'. Change the settings and try again."
    )
    for kind in ErrorKind:
        message = provider.error(kind).message
        assert message.startswith(("OpenAI", "The OpenAI", "The model")), message
        assert message.endswith("."), message
    assert len({provider.error(kind).message for kind in ErrorKind}) == len(ErrorKind)


def test_it_words_a_moderation_refusal_for_quick_prompts_and_characters_alike(settings) -> None:
    message = get_provider("stability").error(ErrorKind.MODERATION).message

    assert message == (
        "Stability AI's safety system declined this prompt. Reword the prompt (for a character: its "
        "description or distinguishing features) and try again."
    )


def test_it_maps_sizes_and_aspect_ratios_to_the_nearest_option() -> None:
    options = ("1024x1024", "1536x1024", "1024x1536")

    assert nearest_by_aspect("1024x1536", options, "1024x1024") == "1024x1536"
    assert nearest_by_aspect("2:3", options, "1024x1024") == "1024x1536"
    assert nearest_by_aspect("1920x1080", options, "1024x1024") == "1536x1024"
    assert nearest_by_aspect("", options, "1024x1024") == "1024x1024"


def test_it_estimates_costs_from_the_price_table() -> None:
    assert estimate_cost("local", "painter-v1", "", "1024x1024", 4) == Decimal("0")
    assert estimate_cost("openai", "gpt-image-2", "high", "1536x1024", 2) == Decimal("0.33")
    assert estimate_cost("openai", "gpt-image-1.5", "low", "1024x1024", 1) == Decimal("0.009")
    assert estimate_cost("openai", "gpt-image-1.5", "low", "1536x1024", 1) == Decimal("0.013")
    assert estimate_cost("stability", "core", "", "1:1", 3) == Decimal("0.09")
    assert estimate_cost("stability", "unknown-model", "", "1:1", 1) == Decimal("0.08")


def test_it_lets_settings_override_prices(settings) -> None:
    settings.IMAGE_PRICES = {("stability", "core", ""): "0.05"}

    assert estimate_cost("stability", "core", "", "1:1", 2) == Decimal("0.10")


def test_it_lists_every_enabled_provider_and_only_configured_ones_as_choices(settings) -> None:
    settings.OPENAI_API_KEY = "sk-x"
    settings.STABILITY_API_KEY = ""
    settings.HUGGINGFACE_API_TOKEN = ""

    assert [p.name for p in available_providers()] == [
        "local",
        "openai",
        "stability",
        "huggingface",
        "patterns",
    ]
    assert [p.name for p in configured_providers()] == ["local", "openai", "patterns"]
    assert provider_choices() == [("local", "Local painter"), ("openai", "OpenAI"), ("patterns", "Patterns")]


def test_it_refuses_providers_that_are_not_enabled(settings) -> None:
    settings.IMAGE_PROVIDERS = ["local"]

    with pytest.raises(UnknownProviderError, match='no image provider called "openai"'):
        get_provider("openai")
    assert [p.name for p in available_providers()] == ["local"]


def test_it_reads_default_models_and_prompt_limits_per_model(settings) -> None:
    settings.OPENAI_IMAGE_MODEL = "gpt-image-1.5"
    openai = get_provider("openai")

    assert openai.default_model == "gpt-image-1.5"
    assert openai.prompt_limit("gpt-image-2") == 32000
    assert openai.prompt_limit("gpt-image-2.5-flare") == 32000
    assert get_provider("stability").prompt_limit() == 10000
    assert get_provider("huggingface").prompt_limit() == 2000
    assert get_provider("local").prompt_limit() == 10000


def test_prompt_limits_count_only_the_providers_the_generator_offers(settings) -> None:
    settings.IMAGE_PROVIDERS = ["local", "openai", "stability", "huggingface", "patterns"]
    settings.OPENAI_API_KEY = settings.STABILITY_API_KEY = settings.HUGGINGFACE_API_TOKEN = ""

    # Keyless (a plain `make run`): the local painter only, never "/ 32000" or "Too long for Hugging Face".
    assert prompt_limits() == [("Local painter", 10000)]

    settings.HUGGINGFACE_API_TOKEN = "hf-test"
    assert prompt_limits() == [("Local painter", 10000), ("Hugging Face", 2000)]
    offered = {label for _, label in provider_choices()}
    assert {label for label, _ in prompt_limits()} == offered - {"Patterns"}, "the generator's own rule"

    settings.IMAGE_PROVIDERS = ["openai"]
    assert prompt_limits() == [], "no usable provider: nothing to measure against"
    settings.OPENAI_API_KEY = "sk-test"
    assert prompt_limits() == [("OpenAI", 32000)]


def test_it_reads_each_providers_timeout_falling_back_to_provider_timeout(settings) -> None:
    settings.PROVIDER_TIMEOUT = 50
    settings.OPENAI_TIMEOUT = 7
    settings.HUGGINGFACE_TIMEOUT = 200
    del settings.STABILITY_TIMEOUT

    assert get_provider("openai").timeout == 7
    assert get_provider("huggingface").timeout == 200
    assert get_provider("stability").timeout == 50


def test_it_refuses_an_unconfigured_provider_with_an_auth_error(settings, db) -> None:
    settings.STABILITY_API_KEY = ""

    with pytest.raises(ProviderError) as caught:
        get_provider("stability").generate(GenerationRequest(prompt="A knight."))

    assert caught.value.kind is ErrorKind.AUTH
    assert (
        caught.value.message
        == "No Stability AI API key is set. Ask the studio admin to set STABILITY_API_KEY."
    )


def test_it_refuses_a_prompt_over_the_model_limit_before_calling(settings, db) -> None:
    settings.OPENAI_API_KEY = "sk-x"
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"  # nothing listens: a call would fail differently

    with pytest.raises(ProviderError) as caught:
        get_provider("openai").generate(GenerationRequest(prompt="x" * 32001, model="gpt-image-2"))

    assert caught.value.kind is ErrorKind.INVALID_REQUEST
    assert "32001 characters long; the limit for OpenAI is 32000" in caught.value.message
