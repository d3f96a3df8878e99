from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import include, path, reverse
from django.views.defaults import server_error


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


def test_it_answers_a_form_with_a_stale_csrf_token_with_a_page_in_the_site_layout(user, settings):
    settings.DEBUG = False
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get(reverse("studio:character_create"))  # the page sets the CSRF cookie
    response = client.post(
        reverse("studio:character_create"), {"name": "Ada", "csrfmiddlewaretoken": "x" * 64}
    )
    assert response.status_code == 403
    assert "403_csrf.html" in [template.name for template in response.templates]
    html = response.text
    assert "This form has expired" in html and "Nothing was saved." in html and _in_site_layout(html)
    assert user.short_name in html  # the user's own navigation
    assert "CSRF verification failed" not in html  # not Django's bare page
