"""Sentences in templates read cleanly: a date or time that ends a sentence cannot end it twice.

Django's default formats end in a period in the morning ("7 Dec 2026, 5:35 a.m."), and so may a humanized
time, so "last used {{ token.last_used_at }}." printed "a.m..". A date or time directly before a full stop
must be formatted explicitly, with a format that ends in digits ("j M Y, H:i").
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

# {{ an expression that prints a date or time }}, perhaps closed by </time> or </span>, then a full stop.
DATE_BEFORE_STOP = re.compile(
    r"\{\{(?P<expr>[^}]*?(?:\|(?:date|time|naturaltime|naturalday|timesince|timeuntil)\b"
    r"|\b\w+_(?:at|date|time|on)\b)[^}]*)\}\}(?:</(?:time|span|strong|em)>)?\.(?!\.)"
)
# An explicit format whose last character prints digits (day, month number, year, hour, minute, second).
DIGITS_LAST = re.compile(r"""\|(?:date|time):["'][^"']*[djyYHGhgismnUWz]["']\s*$""")


def dates_before_a_full_stop(source: str) -> list[str]:
    return [
        match.group(0)
        for match in DATE_BEFORE_STOP.finditer(source)
        if not DIGITS_LAST.search(match.group("expr").strip())
    ]


def test_it_finds_a_date_that_may_end_in_its_own_full_stop():
    assert dates_before_a_full_stop('last used {{ api_token.last_used_at|default:"never" }}.') != []
    assert dates_before_a_full_stop("made {{ portrait.created_at|naturaltime }}.") != []
    assert dates_before_a_full_stop('on {{ day|date:"D j M P" }}</time>.') != []
    assert dates_before_a_full_stop('used <time>{{ token.used_at|date:"j M Y, H:i" }}</time>.') == []
    assert dates_before_a_full_stop("{{ token.created_at }} and more") == []


def test_no_template_ends_a_sentence_with_a_date_that_may_end_in_a_full_stop():
    root = Path(settings.BASE_DIR) / "templates"
    found = {
        str(path.relative_to(root)): hits
        for path in sorted(root.rglob("*"))
        if path.suffix in {".html", ".txt"}
        if (hits := dates_before_a_full_stop(path.read_text(encoding="utf-8")))
    }
    assert found == {}
