from __future__ import annotations

import pytest
from django.urls import reverse

from studio.imports.tests.test_imports_views import _commit, _job, _upload
from studio.portraits.generation import queue_character_portrait
from studio.portraits.jobs import run_portrait_job
from studio.tests.factories import CharacterFactory

pytestmark = pytest.mark.django_db


def test_the_import_results_show_each_character_with_its_cover(
    logged_in_client, user, htmx_headers, settings
):
    settings.PORTRAIT_SIZE = 64
    dov = CharacterFactory(owner=user, name="Dov", gender="male", hair_color="black")
    cover = queue_character_portrait(dov)
    run_portrait_job(cover.pk)
    _upload(logged_in_client, headers=htmx_headers)
    page = _commit(logged_in_client, _job(user), {"map-3": "eye_color"}, htmx_headers).content.decode()
    listed = page.split('id="imported-characters"', 1)[1].split("</ul>", 1)[0]
    assert "Ada" in listed and "Dov" in listed
    assert reverse("studio:portrait_thumbnail", args=[cover.pk]) in listed
    assert listed.count("<img") == 1, "Ada has no portrait yet: a placeholder, not a broken image"
