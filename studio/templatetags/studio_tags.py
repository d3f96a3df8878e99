from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from studio import text

register = template.Library()


@register.simple_tag(takes_context=True)
def nav_link(context: dict[str, Any], url_name: str, label: str, css: str = "nav-link") -> SafeString:
    """A navigation link marked active (and aria-current) on its own page."""
    url = reverse(url_name)
    request = context.get("request")
    if request is not None and request.path == url:
        return format_html('<a class="{} active" href="{}" aria-current="page">{}</a>', css, url, label)
    return format_html('<a class="{}" href="{}">{}</a>', css, url, label)


@register.filter(is_safe=True)
def page_title(title: str) -> str:
    """'<page> · Dali Studio', or just 'Dali Studio' for a page without a title of its own."""
    title = " ".join(str(title).split())
    return f"{title} · Dali Studio" if title else "Dali Studio"


@register.filter
def counted(count: int, noun: str) -> str:
    """{{ n|counted:"portrait" }} -> "1 portrait" / "3 portraits" (studio.text.counted)."""
    return text.counted(int(count or 0), noun)
