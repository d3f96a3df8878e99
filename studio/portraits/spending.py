"""What a user has spent: today's usage against the daily limits, and the Usage page's history.

One counting rule for both: every attempt counts on the day it was queued (a Retry is a new attempt), except
the ones that made nothing (cancelled, refused, never sent). An attempt costs what the provider billed for it
(Portrait.actual_cost) where the studio knows, else its estimate; earlier same-day attempts of a retried job
count at the estimate (their own usage was not kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from studio.portraits.models import Portrait, start_of_today

MONEY = models.DecimalField(max_digits=14, decimal_places=4)
HISTORY_DAYS = 30


@dataclass(frozen=True)
class Usage:
    images: int
    spend: Decimal


def daily_limits() -> tuple[int, Decimal]:
    return settings.DAILY_IMAGE_LIMIT, Decimal(str(settings.DAILY_SPEND_LIMIT_USD))


def _counted() -> dict[str, Any]:
    """Aggregates over Portrait rows: images (attempts that count) and spend (their cost)."""
    current = models.Case(
        models.When(status=Portrait.Status.CANCELLED, then=models.Value(0)),
        models.When(
            status=Portrait.Status.FAILED,
            error_kind__in=Portrait.NOTHING_MADE_ERRORS,
            then=models.Value(0),
        ),
        default=models.Value(1),
        output_field=models.IntegerField(),
    )
    attempts = models.ExpressionWrapper(
        models.F("same_day_attempts") + current, output_field=models.IntegerField()
    )
    current_cost = Coalesce(models.F("actual_cost"), models.F("estimated_cost"), output_field=MONEY)
    spend = models.ExpressionWrapper(
        models.F("same_day_attempts") * models.F("estimated_cost") + current * current_cost,
        output_field=MONEY,
    )
    return {"images": models.Sum(attempts), "spend": models.Sum(spend)}


def usage_today(owner: Any) -> Usage:
    """Images and spend the user has queued today: one aggregate over the user's rows queued since midnight
    (the portrait_owner_queued index); each row is its earlier same-day attempts plus its current one."""
    totals = Portrait.objects.filter(owner=owner, queued_at__gte=start_of_today()).aggregate(**_counted())
    return Usage(totals["images"] or 0, totals["spend"] or Decimal("0"))


def studio_spend_today() -> Decimal:
    """Every user's spend today, counted like usage_today (the studio-wide cap, STUDIO_DAILY_SPEND_LIMIT)."""
    totals = Portrait.objects.filter(queued_at__gte=start_of_today(), estimated_cost__gt=0).aggregate(
        **_counted()
    )
    return totals["spend"] or Decimal("0")


# The Usage page.


@dataclass(frozen=True)
class DayUsage:
    day: date
    images: int
    spend: Decimal


@dataclass(frozen=True)
class ModelUsage:
    provider: str
    model: str
    images: int
    spend: Decimal


@dataclass(frozen=True)
class UsageHistory:
    days: list[DayUsage]  # oldest first, one per day, days without jobs included
    models: list[ModelUsage]  # dearest first
    providers: list[ModelUsage]  # dearest first; model is blank
    image_limit: int
    spend_limit: Decimal

    @property
    def today(self) -> DayUsage:
        return self.days[-1]

    @property
    def total_images(self) -> int:
        return sum(day.images for day in self.days)

    @property
    def total_spend(self) -> Decimal:
        return sum((day.spend for day in self.days), Decimal("0"))


def usage_history(owner: Any, days: int = HISTORY_DAYS) -> UsageHistory:
    """The user's last `days` days (today included) per day and per provider and model: two queries."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    since = timezone.make_aware(datetime.combine(first, time.min))
    rows = Portrait.objects.filter(owner=owner, queued_at__gte=since)
    per_day = {
        row["day"]: row
        for row in rows.annotate(day=TruncDate("queued_at")).values("day").annotate(**_counted()).order_by()
    }
    history = []
    for day in (first + timedelta(days=offset) for offset in range(days)):
        row = per_day.get(day) or {}
        history.append(DayUsage(day, row.get("images") or 0, row.get("spend") or Decimal("0")))
    per_model = [
        ModelUsage(row["provider"], row["model"], row["images"] or 0, row["spend"] or Decimal("0"))
        for row in rows.values("provider", "model").annotate(**_counted()).order_by()
    ]
    per_model = [row for row in per_model if row.images]
    providers: dict[str, ModelUsage] = {}
    for row in per_model:
        seen = providers.get(row.provider) or ModelUsage(row.provider, "", 0, Decimal("0"))
        images, spend = seen.images + row.images, seen.spend + row.spend
        providers[row.provider] = ModelUsage(row.provider, "", images, spend)
    image_limit, spend_limit = daily_limits()
    return UsageHistory(
        days=history,
        models=_dearest_first(per_model),
        providers=_dearest_first(list(providers.values())),
        image_limit=image_limit,
        spend_limit=spend_limit,
    )


def _dearest_first(rows: Sequence[ModelUsage]) -> list[ModelUsage]:
    return sorted(rows, key=lambda row: (-row.spend, -row.images, row.provider, row.model))
