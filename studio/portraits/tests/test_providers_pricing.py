from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache

from studio.portraits.providers import GenerationRequest, ProviderError, catalog, get_provider
from studio.portraits.providers.pricing import PRICE_TABLE, actual_cost, estimate_cost, unit_price

# The shutdown dates live in the shared cache, a database table unless Redis is configured.
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def forget_listed_shutdowns():
    yield
    cache.clear()
    catalog.forget_shutdowns()


def offered_combinations() -> list[tuple[str, str, str, str]]:
    combinations = []
    for name in ("openai", "stability", "huggingface"):
        provider = get_provider(name)
        for model, _label in provider.models:
            qualities = [value for value, _ in provider.qualities_for(model)] if name == "openai" else [""]
            for quality in {*qualities, ""}:
                for size, _size_label in provider.sizes:
                    combinations.append((name, model, quality, size))
    return combinations


@pytest.mark.parametrize(("provider", "model", "quality", "size"), offered_combinations())
def test_every_offered_combination_has_a_positive_price_from_its_own_row(provider, model, quality, size):
    price = unit_price(provider, model, quality, size)

    assert price > 0
    rows = [row for key, row in PRICE_TABLE.items() if key[:2] == (provider, model)]
    assert price in {row.usd for row in rows}  # a row of this model, never the provider's catch-all
    assert all(row.source and row.date for row in rows)


def test_a_blank_or_auto_quality_is_priced_as_the_models_highest_quality_not_the_catch_all():
    assert estimate_cost("openai", "gpt-image-1-mini", "", "1024x1024", 1) == Decimal("0.036")
    assert estimate_cost("openai", "gpt-image-1-mini", "auto", "1024x1536", 1) == Decimal("0.052")
    assert estimate_cost("openai", "gpt-image-1.5", "", "1024x1024", 1) == Decimal("0.133")
    assert unit_price("openai", "gpt-image-2.5-flare", "auto", "1024x1024") == unit_price(
        "openai", "gpt-image-2.5-flare", "max", "1024x1024"
    )


def test_free_sizes_are_priced_from_openais_token_formula():
    # 1024x1024 high is 7024 output tokens at $30 per million: OpenAI's published $0.211.
    assert unit_price("openai", "gpt-image-2.5-sunburst", "high", "1024x1024") == Decimal("0.2107")
    wide = unit_price("openai", "gpt-image-2", "high", "2048x1152")
    assert Decimal("0.165") < wide < Decimal("0.5")


def test_actual_cost_comes_from_the_usage_tokens_at_the_models_rates():
    usage = {
        "input_tokens": 60,
        "input_tokens_details": {"text_tokens": 40, "image_tokens": 20},
        "output_tokens": 7024,
        "total_tokens": 7084,
    }

    # 40 x $5 + 20 x $8 + 7024 x $30, per million tokens.
    assert actual_cost("openai", "gpt-image-2", usage) == Decimal("0.2111")
    assert actual_cost("openai", "gpt-image-1-mini", usage) == Decimal("0.0563")
    assert actual_cost("openai", "gpt-image-2", {}) is None
    assert actual_cost("stability", "ultra", {"credits": 16}) == Decimal("0.16")
    assert actual_cost("huggingface", "black-forest-labs/FLUX.1-schnell", {}) is None
    assert actual_cost("local", "painter-v1", None) == Decimal("0")


def test_the_fake_openai_usage_books_the_published_price(fake_openai):
    result = get_provider("openai").generate(
        GenerationRequest(prompt="A lighthouse keeper.", model="gpt-image-1-mini", quality="low", count=2)
    )

    cost = actual_cost("openai", result.model, result.usage)
    assert cost is not None and Decimal("0") < cost <= result.estimated_cost * 2


def test_stability_books_its_documented_credits(fake_stability):
    result = get_provider("stability").generate(GenerationRequest(prompt="A bard.", model="ultra", count=2))

    assert result.usage == {"credits": 16.0}
    assert actual_cost("stability", "ultra", result.usage) == result.estimated_cost == Decimal("0.16")


def test_a_model_the_api_lists_as_shut_down_is_hidden_and_refused(fake_openai):
    fake_openai.models.append(
        {
            "id": "gpt-image-1.5",
            "object": "model",
            "created": 1,
            "owned_by": "system",
            "shutdown_date": "2026-12-01",
        }
    )
    provider = get_provider("openai")
    provider.list_image_models(today=dt.date(2026, 12, 7))
    fake_openai.requests.clear()

    assert "gpt-image-1.5" not in [value for value, _ in provider.model_choices()]
    assert "gpt-image-2" in [value for value, _ in provider.model_choices()]
    with pytest.raises(ProviderError) as caught:
        provider.generate(GenerationRequest(prompt="A bard.", model="gpt-image-1.5"))
    assert caught.value.message == "gpt-image-1.5 was retired on 2026-12-01; use gpt-image-2."
    assert fake_openai.requests == []


def test_a_future_shutdown_date_keeps_the_model_offered(fake_openai):
    fake_openai.models.append(
        {
            "id": "gpt-image-1.5",
            "object": "model",
            "created": 1,
            "owned_by": "system",
            "shutdown_date": "2099-01-01",
        }
    )
    provider = get_provider("openai")
    provider.list_image_models()

    assert "gpt-image-1.5" in [value for value, _ in provider.model_choices()]


def test_every_catalog_fact_names_its_source_and_date():
    for provider in ("openai", "stability", "huggingface"):
        for entry in catalog.model_entries(provider).values():
            assert entry.sources and all(fact.source and fact.date for fact in entry.sources.values())
    for retired in catalog.OPENAI_RETIRED.values():
        assert retired.source.source.startswith("openai 3.63.0")
