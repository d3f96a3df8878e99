from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from PIL import Image, ImageStat

from studio import pages
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


def test_the_landing_page_of_a_new_studio_shows_sample_portraits_by_the_offline_painter(client):
    html = client.get(reverse("home")).text

    assert not Portrait.objects.exists()
    for index, sample in enumerate(pages.SAMPLES):
        assert f'src="{reverse("landing_sample", args=[index])}"' in html
        assert f'alt="{sample.alt}"' in html
    assert "Painted by the offline painter" in html


def test_a_sample_portrait_is_a_cached_webp_image(client):
    response = client.get(reverse("landing_sample", args=[1]))

    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    assert "public" in response["Cache-Control"] and "max-age=" in response["Cache-Control"]
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "WEBP" and image.size == (pages.SAMPLE_SIZE, pages.SAMPLE_SIZE)
    assert ImageStat.Stat(image.convert("L")).stddev[0] > 10  # a picture, not a blank square
    assert client.get(reverse("landing_sample", args=[len(pages.SAMPLES)])).status_code == 404


def test_the_landing_strip_shows_one_portrait_per_character(client):
    call_command("studio", "seed-demo", "--portraits", "2")

    html = client.get(reverse("home")).text

    strip = html[html.index("Made in this studio") :]
    shown = [pk for pk in Portrait.objects.values_list("pk", flat=True) if f"/community/{pk}/thumb" in strip]
    characters = Portrait.objects.filter(pk__in=shown).values_list("character_id", flat=True)
    assert len(shown) == 3 and len(set(characters)) == 3
