"""The Usage page: spend and images per day (last 30 days), per provider and per model, against the limits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import formats
from django.views.decorators.http import require_GET

from studio.portraits.models import Portrait
from studio.portraits.spending import DayUsage, ModelUsage, daily_limits, usage_history, usage_today

# The chart's drawing area, in SVG user units (the SVG scales to the page's width).
WIDTH, HEIGHT = 600, 220
LEFT, RIGHT, TOP, BOTTOM = 52, 8, 14, 26


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    over: bool


@dataclass(frozen=True)
class BarChart:
    key: str
    title: str
    description: str
    bars: list[Bar]
    top_label: str
    top_y: float
    limit_y: float | None
    limit_label: str
    first_day: str
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: float = HEIGHT - BOTTOM
    right_edge: int = WIDTH - RIGHT


def day_label(usage: DayUsage) -> str:
    return formats.date_format(usage.day, "D j M")


def money(value: Decimal | int) -> str:
    return f"${value:.2f}"


def images(count: Decimal | int) -> str:
    return f"{count} image{'s' if count != 1 else ''}"


def bar_chart(
    key: str,
    title: str,
    days: Sequence[DayUsage],
    value: Callable[[DayUsage], Decimal | int],
    limit: Decimal | int,
    show: Callable[[Decimal | int], str],
    axis: Callable[[Decimal | int], str],
) -> BarChart:
    """One bar per day, scaled so the tallest bar and the daily limit (a dashed line) both fit."""
    values = [value(day) for day in days]
    top = max([*values, limit or 0]) or 1
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_width / len(days)
    scale = plot_height / (float(top) * 1.1)
    bars = []
    for index, (day, amount) in enumerate(zip(days, values, strict=True)):
        height = round(float(amount) * scale, 1)
        bars.append(
            Bar(
                x=round(LEFT + index * slot + slot * 0.15, 1),
                y=round(HEIGHT - BOTTOM - height, 1),
                width=round(slot * 0.7, 1),
                height=height,
                label=f"{day_label(day)}: {show(amount)}",
                over=bool(limit) and amount > limit,
            )
        )
    busiest = max(zip(values, days, strict=True), key=lambda pair: pair[0])
    limit_words = f"the daily limit is {show(limit)} (dashed line)" if limit else "there is no daily limit"
    peak = f"the most was {show(busiest[0])} on {day_label(busiest[1])}" if busiest[0] else "nothing yet"
    over_days = sum(bar.over for bar in bars)
    over = f"; {over_days} day{'s' if over_days != 1 else ''} over the limit" if over_days else ""
    return BarChart(
        key=key,
        title=f"{title}, last {len(days)} days",
        description=f"One bar per day, oldest on the left; {limit_words}; {peak}{over}. "
        "The table below lists every day.",
        bars=bars,
        top_label=axis(top),
        top_y=round(HEIGHT - BOTTOM - float(top) * scale, 1),
        limit_y=round(HEIGHT - BOTTOM - float(limit) * scale, 1) if limit else None,
        limit_label=f"limit {axis(limit)}" if limit else "",
        first_day=day_label(days[0]),
    )


@login_required
@require_GET
def usage_page(request: HttpRequest) -> HttpResponse:
    history = usage_history(request.user)
    days = history.days
    spend_chart = bar_chart(
        "spend", "Spend per day", days, lambda day: day.spend, history.spend_limit, money, money
    )
    images_chart = bar_chart(
        "images", "Images per day", days, lambda day: day.images, history.image_limit, images, str
    )
    label = Portrait.label_of_provider
    providers = [(label(row.provider), row) for row in history.providers]
    models: list[tuple[str, ModelUsage]] = [(label(row.provider), row) for row in history.models]
    context = {
        "history": history,
        "charts": [spend_chart, images_chart],
        "days_newest_first": history.days[::-1],
        "providers": providers,
        "models": models,
    }
    return render(request, "studio/portraits/usage.html", context)


@login_required
@require_GET
def daily_usage(request: HttpRequest) -> HttpResponse:
    """The generator's "Today: N of 200 images" line, fetched again when portraits are queued or finish."""
    used = usage_today(request.user)
    image_limit, spend_limit = daily_limits()
    estimate = {
        "used_images": used.images,
        "used_spend": used.spend,
        "image_limit": image_limit,
        "spend_limit": spend_limit,
    }
    return render(request, "studio/portraits/quick_generate.html#daily_usage", {"estimate": estimate})
