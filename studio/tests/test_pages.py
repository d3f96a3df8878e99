from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from studio.portraits.models import Portrait

pytestmark = pytest.mark.django_db


def test_the_landing_page_shows_the_newest_public_portraits_and_the_three_steps(client):
    call_command("studio", "seed-demo", "--portraits", "1")
    Portrait.objects.filter(pk=Portrait.objects.order_by("pk").first().pk).update(is_public=False)
    public = list(Portrait.objects.filter(is_public=True).values_list("pk", flat=True))

    html = client.get(reverse("home")).text

    assert "Made in this studio" in html and "Three steps" in html
    assert all(reverse("studio:community_thumbnail", args=[pk]) in html for pk in public)
    hidden = Portrait.objects.filter(is_public=False).get().pk
    assert reverse("studio:community_thumbnail", args=[hidden]) not in html


def test_the_landing_page_has_no_empty_strip_on_a_new_studio(client):
    html = client.get(reverse("home")).text

    assert "Made in this studio" not in html and "Create a free account" in html
