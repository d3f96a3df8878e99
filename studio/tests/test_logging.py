from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator

import pytest
from django.urls import reverse

from studio.characters.models import Character
from studio.logging import JsonFormatter, PlainFormatter, RequestIdFilter
from studio.portraits.generation import queue_character_portrait
from studio.portraits.jobs import run_portrait_job
from studio.tests.factories import CharacterFactory
from studio.tests.fakes import openai_error

pytestmark = pytest.mark.django_db

FORM = {"name": "", "gender": "female", "hair_color": "red", "visibility": "private"}
OPENAI_KEY = "sk-live-THIS-MUST-NEVER-BE-LOGGED-42"


@pytest.fixture
def log_lines() -> Iterator[Callable[[str], list[str]]]:
    """Formatted lines, as the console handler writes them, for everything logged during the test."""
    streams: dict[str, io.StringIO] = {"plain": io.StringIO(), "json": io.StringIO()}
    handlers = []
    for name, formatter in (("plain", PlainFormatter()), ("json", JsonFormatter())):
        handler = logging.StreamHandler(streams[name])
        handler.setFormatter(formatter)
        handler.addFilter(RequestIdFilter())
        handler.setLevel(logging.DEBUG)
        handlers.append(handler)
    root = logging.getLogger()
    previous_level = root.level
    root.setLevel(logging.DEBUG)
    for handler in handlers:
        root.addHandler(handler)

    def read(kind: str = "plain") -> list[str]:
        return streams[kind].getvalue().splitlines()

    yield read
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(previous_level)


def events(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines]


def named(lines: list[str], event: str) -> list[dict]:
    return [entry for entry in events(lines) if entry["event"] == event]


def test_it_logs_a_generation_from_queued_to_succeeded_with_provider_model_and_duration(user, log_lines):
    character = CharacterFactory(owner=user)
    portrait = queue_character_portrait(character, size="64x64")
    run_portrait_job(portrait.pk)
    lines = log_lines("json")
    [queued] = named(lines, "generation.queued")
    assert queued["portrait_ids"] == [portrait.pk]
    assert queued["jobs"] == 1
    for event in ("generation.queued", "generation.started", "generation.succeeded"):
        [entry] = named(lines, event)
        assert entry.get("portrait_id", portrait.pk) == portrait.pk
        assert entry["character_id"] == character.pk
        assert entry["provider"] == "local"
        assert entry["model"] == portrait.model
    [succeeded] = named(lines, "generation.succeeded")
    assert isinstance(succeeded["duration_ms"], int)
    assert succeeded["level"] == "INFO"
    assert "prompt" not in succeeded and "image" not in succeeded


def test_it_logs_a_failed_generation_with_its_error_kind_and_no_key_anywhere(
    user, settings, fake_openai, log_lines
):
    fake_openai.api_key = OPENAI_KEY
    settings.OPENAI_API_KEY = OPENAI_KEY
    settings.PROVIDER_MAX_ATTEMPTS = 1
    # Providers echo keys back in their error messages; the log must still not carry it.
    fake_openai.push(openai_error(401, f"Incorrect API key provided: {OPENAI_KEY}.", code="invalid_api_key"))
    portrait = queue_character_portrait(CharacterFactory(owner=user), provider="openai")
    assert run_portrait_job(portrait.pk) == "failed"
    logging.getLogger("somewhere.else").error("a library printing its config: key=%s", OPENAI_KEY)

    [failed] = named(log_lines("json"), "generation.failed")
    assert failed["error_kind"] == "auth"
    assert failed["provider"] == "openai"
    assert failed["http_status"] == 401
    assert failed["level"] == "WARNING"
    plain = log_lines("plain")
    assert any("generation.failed" in line and "error_kind=auth" in line for line in plain)
    everything = "\n".join(plain + log_lines("json"))
    assert "key=[redacted]" in everything
    assert OPENAI_KEY not in everything


def test_it_redacts_nested_secrets_such_as_a_social_apps_client_secret(settings, log_lines):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "github": {"APPS": [{"client_id": "public-id", "secret": "gh-secret-value-123"}]}
    }
    settings.EMAIL_HOST_PASSWORD = "smtp-pass-word"
    logging.getLogger("test").info("sent %s and %s with public-id", "gh-secret-value-123", "smtp-pass-word")
    [line] = log_lines("plain")
    assert "gh-secret-value-123" not in line and "smtp-pass-word" not in line
    assert "public-id" in line  # a client id is not a secret


def test_it_logs_character_creation_edits_and_deletion(logged_in_client, user, log_lines):
    logged_in_client.post(reverse("studio:character_create"), {**FORM, "name": "Orla"})
    character = Character.objects.get(name="Orla")
    logged_in_client.post(
        reverse("studio:character_edit", args=[character.pk]),
        {**FORM, "name": "Orla", "hair_color": "grey"},
    )
    logged_in_client.post(reverse("studio:character_delete", args=[character.pk]))
    lines = log_lines("json")
    for event in ("character.created", "character.updated", "character.deleted"):
        [entry] = named(lines, event)
        assert entry["character_id"] == character.pk
        assert entry["owner_id"] == user.pk
        assert entry["request_id"] != "-"
    assert "Orla" not in "\n".join(lines)  # names are the user's content, not log data


def test_it_logs_logins_and_failed_logins_without_the_password(client, user, log_lines):
    client.post(reverse("account_login"), {"login": user.email, "password": "wrong-password-123"})
    client.post(reverse("account_login"), {"login": user.email, "password": "correct-horse-battery"})
    lines = log_lines("json")
    [failed] = named(lines, "auth.login_failed")
    assert failed["login"] == user.email
    assert failed["level"] == "WARNING"
    [login] = named(lines, "auth.login")
    assert login["user_id"] == user.pk
    assert login["method"] == "password"
    everything = "\n".join(lines + log_lines("plain"))
    assert "wrong-password-123" not in everything
    assert "correct-horse-battery" not in everything


def test_it_puts_one_request_id_on_every_line_of_a_request_and_returns_it(logged_in_client, log_lines):
    response = logged_in_client.post(reverse("studio:character_create"), {**FORM, "name": "Ida"})
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    [created] = named(log_lines("json"), "character.created")
    assert created["request_id"] == request_id
    assert any(f"[{request_id}] character.created" in line for line in log_lines("plain"))


def test_it_reuses_a_sane_incoming_request_id_and_replaces_a_forged_one(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-1234abcd")["X-Request-ID"] == "lb-1234abcd"
    forged = client.get("/healthz", HTTP_X_REQUEST_ID="x\nlevel=ERROR fake line")["X-Request-ID"]
    assert "\n" not in forged and len(forged) == 32


def test_it_marks_lines_outside_a_request_with_a_dash(log_lines):
    logging.getLogger("test").info("import.finished", extra={"rows": 3})
    [entry] = events(log_lines("json"))
    assert entry == {**entry, "event": "import.finished", "rows": 3, "request_id": "-", "logger": "test"}
    assert log_lines("plain")[0].endswith("test [-] import.finished rows=3")


def test_it_writes_exceptions_into_the_json_line(log_lines):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("test").exception("task.crashed")
    [entry] = events(log_lines("json"))
    assert entry["event"] == "task.crashed"
    assert "ValueError: boom" in entry["exception"]


def test_it_keeps_the_request_id_on_djangos_own_error_lines(logged_in_client, log_lines):
    response = logged_in_client.get("/studio/characters/999999/")
    assert response.status_code == 404
    [line] = [entry for entry in events(log_lines("json")) if entry["logger"] == "django.request"]
    assert line["request_id"] == response["X-Request-ID"]


FORGED = "Zoë\x1b[2J\rINFO forged\x85NEL\u2028LS\u2029PS\nNL"


def test_it_escapes_control_characters_in_field_values(log_lines):
    logging.getLogger("test").info("character.created", extra={"title": FORGED, "tags": [FORGED]})
    for kind in ("plain", "json"):
        [line] = log_lines(kind)  # splitlines() breaks at CR, NEL, U+2028 and U+2029 too
        assert not any(char in line for char in "\x1b\r\x85\u2028\u2029\n"), kind
        assert "Zoë" in line
    [entry] = events(log_lines("json"))
    assert entry["title"] == FORGED and entry["tags"] == [FORGED]
    assert 'title="Zoë\\u001b[2J\\rINFO forged\\u0085NEL\\u2028LS\\u2029PS\\nNL"' in log_lines("plain")[0]


def test_it_escapes_control_characters_in_a_clients_path(client, log_lines):
    client.get("/studio/%1b[31mred%0d%e2%80%a8%c2%85/")
    lines = [line for line in log_lines("plain") if "django.request" in line]
    assert len(lines) == 1
    assert not any(char in lines[0] for char in "\x1b\r\u2028\x85")
