from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from studio.portraits.models import Portrait, start_of_today
from studio.tests.factories import PortraitFactory

pytestmark = pytest.mark.django_db

URL = "/studio/usage/"


def visible(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def job(owner, provider: str, model: str, estimated: str, actual: str | None = None, **fields) -> Portrait:
    return PortraitFactory(
        character__owner=owner,
        provider=provider,
        model=model,
        status=fields.pop("status", "succeeded"),
        estimated_cost=Decimal(estimated),
        actual_cost=None if actual is None else Decimal(actual),
        **fields,
    )


@pytest.fixture
def spent(user):
    """Today: an OpenAI image billed $0.0059 (estimated $0.006), a Stability image estimated $0.08 with no
    usage, a free painter image and a cancelled OpenAI job; three days ago two OpenAI images at $0.211."""
    job(user, "openai", "gpt-image-2", "0.006", "0.0059")
    job(user, "stability", "ultra", "0.08")
    job(user, "local", "painter-v1", "0", "0")
    job(user, "openai", "gpt-image-2", "0.211", status="cancelled")
    earlier = timezone.now() - timedelta(days=3)
    for _ in range(2):
        job(user, "openai", "gpt-image-1.5", "0.211", queued_at=earlier)
    return user


def test_it_is_linked_from_the_user_menu(logged_in_client):
    page = logged_in_client.get(reverse("studio:character_list")).text
    assert f'href="{URL}">Usage and spend</a>' in page
    assert reverse("studio:usage") == URL


def test_it_needs_a_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_shows_todays_images_and_spend_against_the_daily_limits(logged_in_client, spent, settings):
    settings.DAILY_IMAGE_LIMIT, settings.DAILY_SPEND_LIMIT_USD = 50, "2.00"
    page = visible(logged_in_client.get(URL).text)
    # The actual cost where the provider reported it, else the estimate; the cancelled job counts nothing.
    assert "Images today 3 of 50" in page
    assert "Spend today $0.09 of $2.00" in page
    assert "Today 3 $0.0859" in page
    assert "30 days 5 $0.5079" in page


def test_it_shows_spend_per_provider_and_per_model(logged_in_client, spent):
    page = visible(logged_in_client.get(URL).text)
    providers = page[page.index("Per provider") : page.index("Per model")]
    assert "OpenAI 3 $0.4279" in providers and "Stability AI 1 $0.0800" in providers
    assert "Local painter 1 $0.0000" in providers
    assert providers.index("OpenAI") < providers.index("Stability AI") < providers.index("Local painter")
    models = page[page.index("Per model") :]
    assert "gpt-image-1.5 OpenAI 2 $0.4220" in models and "gpt-image-2 OpenAI 1 $0.0059" in models


def test_it_draws_a_bar_per_day_with_the_limit_and_the_days_over_it(logged_in_client, spent, settings):
    settings.DAILY_SPEND_LIMIT_USD = "0.25"
    html = logged_in_client.get(URL).text
    chart = html[html.index('<svg class="stats-chart usage-chart') : html.index("</svg>")]
    assert 'role="img" aria-labelledby="spend-title spend-desc"' in chart
    assert '<title id="spend-title">Spend per day, last 30 days</title>' in chart
    assert "the daily limit is $0.25 (dashed line)" in chart
    assert "1 day over the limit" in chart  # three days ago: $0.42
    assert chart.count("<rect ") == 30
    assert chart.count('class="over"') == 1 and "(over the limit)" in chart
    assert 'class="limit"' in chart and "limit $0.25" in chart


def test_it_says_when_there_is_nothing_yet(logged_in_client):
    page = visible(logged_in_client.get(URL).text)
    assert "Images today 0" in page and "nothing yet" in page
    assert "Nothing in the last 30 days." in page


def test_it_shows_only_the_users_own_spend(logged_in_client, other_user):
    job(other_user, "openai", "gpt-image-2", "0.211", "0.2111")
    page = visible(logged_in_client.get(URL).text)
    assert "Spend today $0.00" in page and "0.2111" not in page and "gpt-image-2" not in page


def test_it_takes_two_queries_for_thirty_days_of_figures(logged_in_client, spent):
    logged_in_client.get(URL)  # warm the session and the user
    with CaptureQueriesContext(connection) as queries:
        assert logged_in_client.get(URL).status_code == 200
    portrait_queries = [query["sql"] for query in queries if "studio_portrait" in query["sql"]]
    assert len(portrait_queries) == 2, portrait_queries
    assert len(queries) <= 4, [query["sql"] for query in queries]


def test_days_are_the_servers_local_days(logged_in_client, user, settings):
    settings.TIME_ZONE = "America/New_York"
    midnight = start_of_today()
    job(user, "openai", "gpt-image-2", "0.211", queued_at=midnight - timedelta(minutes=30))
    job(user, "openai", "gpt-image-2", "0.053", queued_at=midnight + timedelta(minutes=1))
    page = visible(logged_in_client.get(URL).text)
    yesterday = (midnight - timedelta(minutes=30)).strftime("%a %-d %b")
    assert "Today 1 $0.0530" in page and f"{yesterday} 1 $0.2110" in page
