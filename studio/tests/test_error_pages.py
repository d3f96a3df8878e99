from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.urls import include, path, reverse
from django.views.defaults import server_error

from studio.characters.models import Character
from studio.tests.factories import CharacterFactory


def _server_fault(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


def _forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def _suspicious(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation("a malformed request")


# The site's own URLs plus three views that fail, for @pytest.mark.urls(__name__).
urlpatterns = [
    path("", include("site_config.urls")),
    path("test-errors/500/", _server_fault),
    path("test-errors/403/", _forbidden),
    path("test-errors/400/", _suspicious),
]


def _in_site_layout(html: str) -> bool:
    return 'aria-label="Main navigation"' in html and "app.css" in html and "app-footer" in html


@pytest.fixture
def failing_client(db) -> Client:
    return Client(raise_request_exception=False)


def test_it_shows_a_missing_page_as_the_404_page_in_the_site_layout(client, db, settings):
    settings.DEBUG = False
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "404.html" in [template.name for template in response.templates]
    html = response.text
    assert "This page is not here" in html and _in_site_layout(html)
    assert "Log in" in html  # the anonymous navigation


def test_it_keeps_the_users_navigation_on_a_404(logged_in_client, user, settings):
    settings.DEBUG = False
    response = logged_in_client.get("/studio/characters/999999/")
    assert response.status_code == 404
    assert "This page is not here" in response.text
    assert user.short_name in response.text and "Your characters" in response.text


def test_it_renders_the_500_page_without_a_request_context(rf: RequestFactory):
    response = server_error(rf.get("/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html and _in_site_layout(html)
    # The navigation depends on who is logged in, which a 500 page cannot know: it is left out.
    assert "Log in" not in html and "Log out" not in html


@pytest.mark.urls(__name__)
def test_it_answers_an_unhandled_error_with_the_500_page(failing_client, settings):
    settings.DEBUG = False
    response = failing_client.get("/test-errors/500/")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text and _in_site_layout(response.text)


@pytest.mark.urls(__name__)
def test_it_answers_a_forbidden_request_with_the_403_page(failing_client, settings):
    settings.DEBUG = False
    response = failing_client.get("/test-errors/403/")
    assert response.status_code == 403
    assert "You can't open this page" in response.text and _in_site_layout(response.text)


@pytest.mark.urls(__name__)
def test_it_answers_a_malformed_request_with_the_400_page(failing_client, settings):
    settings.DEBUG = False
    response = failing_client.get("/test-errors/400/")
    assert response.status_code == 400
    assert "That request could not be understood" in response.text and _in_site_layout(response.text)


# --- An expired form (CSRF failure) -----------------------------------------------------------------------


@pytest.fixture
def strict_client(db) -> Client:
    """A browser that sends no CSRF token: the test client skips the check unless told to enforce it."""
    return Client(enforce_csrf_checks=True)


def test_an_expired_form_gets_a_page_in_the_site_layout_that_says_to_reload(strict_client, user):
    strict_client.force_login(user)
    response = strict_client.post(reverse("account_logout"))
    assert response.status_code == 403
    assert "403_csrf.html" in [template.name for template in response.templates]
    html = response.text
    assert "That form has expired" in html and _in_site_layout(html)
    assert "Your session expired or the form was open too long" in html
    assert "Reload the page and try again." in html
    assert user.short_name in html  # the user's own navigation
    assert "CSRF verification failed" not in html  # not Django's bare page
    assert "shown because DEBUG is on" not in html


def test_an_expired_login_form_says_the_same_to_a_visitor(strict_client):
    response = strict_client.post(reverse("account_login"), {"login": "a@example.com", "password": "x"})
    assert response.status_code == 403
    assert "Your session expired or the form was open too long" in response.text
    assert _in_site_layout(response.text) and reverse("account_login") in response.text


def test_an_expired_htmx_form_gets_the_sentence_alone_for_its_toast(strict_client, user, htmx_headers):
    strict_client.force_login(user)
    character = CharacterFactory(owner=user)
    response = strict_client.post(reverse("studio:character_delete", args=[character.pk]), **htmx_headers)
    assert response.status_code == 403
    assert "<html" not in response.text
    assert "data-error-message>Your session expired or the form was open too long" in response.text
    assert Character.objects.filter(pk=character.pk).exists()


@override_settings(DEBUG=True)
def test_with_debug_on_the_expired_form_page_names_the_reason(strict_client, user):
    strict_client.force_login(user)
    response = strict_client.post(reverse("account_logout"))
    assert response.status_code == 403
    assert "That form has expired" in response.text
    assert "CSRF cookie not set" in response.text and "shown because DEBUG is on" in response.text


# --- With DEBUG on (make run), a view's Http404 gets the site's 404 page ----------------------------------


@override_settings(DEBUG=True)
def test_with_debug_on_back_to_a_deleted_character_shows_the_sites_404_page(logged_in_client, user):
    character = CharacterFactory(owner=user)
    page = reverse("studio:character_detail", args=[character.pk])
    assert logged_in_client.get(page).status_code == 200
    logged_in_client.post(reverse("studio:character_delete", args=[character.pk]))

    response = logged_in_client.get(page)  # the browser's Back

    assert response.status_code == 404
    assert "404.html" in [template.name for template in response.templates]
    html = response.text
    assert "This page is not here" in html and _in_site_layout(html)
    assert user.short_name in html and "Your characters" in html
    assert "Http404: " in html and "shown because DEBUG is on" in html  # the developer's note
    assert "technical_404" not in html and "Using the URLconf" not in html


@override_settings(DEBUG=True)
def test_with_debug_on_a_url_that_matches_nothing_keeps_djangos_technical_page(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Using the URLconf defined in" in response.text  # the list of URL patterns, for the developer
    assert "This page is not here" not in response.text


@override_settings(DEBUG=True, FRIENDLY_404_IN_DEBUG=False)
def test_the_friendly_404_with_debug_on_can_be_switched_off(logged_in_client):
    response = logged_in_client.get(reverse("studio:character_detail", args=[999999]))
    assert response.status_code == 404
    assert "This page is not here" not in response.text
    assert "Raised by:" in response.text  # Django's technical 404


def test_with_debug_off_the_middleware_leaves_the_404_to_djangos_handler(logged_in_client, settings):
    settings.DEBUG = False
    response = logged_in_client.get(reverse("studio:character_detail", args=[999999]))
    assert response.status_code == 404
    assert "This page is not here" in response.text
    assert "shown because DEBUG is on" not in response.text
