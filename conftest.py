from __future__ import annotations

import pytest

from studio.tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Every test writes its files to a fresh folder, never to the developer's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_cache(request, django_db_blocker):
    """The per-process cache outlives a test's rolled-back rows, whose ids a later test may reuse; the shared
    (database) cache's rows outlive a transactional test's flush, which empties only the models' tables."""
    from django.core.cache import cache, caches

    from studio.portraits.providers import catalog

    caches["local"].clear()
    catalog.forget_shutdowns()
    yield
    caches["local"].clear()
    catalog.forget_shutdowns()
    marker = request.node.get_closest_marker("django_db")
    transactional = {"transactional_db", "live_server"} & set(request.fixturenames) or (
        marker is not None and marker.kwargs.get("transaction")
    )
    if transactional:
        with django_db_blocker.unblock():
            cache.clear()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def logged_in_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def htmx_headers():
    return {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def reauthenticated_client(logged_in_client, user):
    """Signed in and just past allauth's password prompt, as account deletion and API tokens require."""
    from django.urls import reverse

    response = logged_in_client.post(reverse("account_reauthenticate"), {"password": "correct-horse-battery"})
    assert response.status_code == 302, response.content
    return logged_in_client
