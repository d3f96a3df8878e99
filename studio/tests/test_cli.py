from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection

from studio.characters.models import Character
from studio.portraits.models import Portrait
from studio.tests.factories import CharacterFactory, PortraitFactory, UserFactory
from studio.tests.fakes import openai_error

pytestmark = pytest.mark.django_db


def studio(*args: str) -> str:
    """Run `manage.py studio ARGS` in this process; returns what it printed."""
    from io import StringIO

    out = StringIO()
    call_command("studio", *args, stdout=out)
    return out.getvalue()


def test_it_lists_characters_as_a_table_filtered_by_owner(user, other_user):
    CharacterFactory(owner=user, name="Orla")
    CharacterFactory(owner=other_user, name="Bram")
    output = studio("list-characters", "--owner", user.email)
    assert output.splitlines()[0].split() == [
        "id",
        "name",
        "owner",
        "version",
        "portraits",
        "visibility",
        "updated_at",
    ]
    assert "Orla" in output and user.email in output
    assert "Bram" not in output


def test_it_lists_characters_as_json(user):
    character = CharacterFactory(owner=user, name="Orla")
    PortraitFactory(character=character)
    [row] = json.loads(studio("list-characters", "--json"))
    assert row["id"] == character.pk
    assert row["name"] == "Orla"
    assert row["owner"] == user.email
    assert row["portraits"] == 1


def test_it_says_when_the_owner_does_not_exist():
    with pytest.raises(CommandError, match=r"No user with the email address ghost@example\.com"):
        studio("list-characters", "--owner", "ghost@example.com")


def test_it_deletes_a_character_with_yes_and_removes_its_portrait_files(user, settings):
    character = CharacterFactory(owner=user, name="Orla")
    from studio.portraits.generation import queue_character_portrait
    from studio.portraits.jobs import run_portrait_job

    portrait = queue_character_portrait(character, size="64x64")
    run_portrait_job(portrait.pk)
    portrait.refresh_from_db()
    image_path = portrait.image.path
    assert os.path.exists(image_path)
    output = studio("delete-character", str(character.pk), "--yes")
    assert "Deleted “Orla”" in output
    assert not Character.objects.exists() and not Portrait.objects.exists()
    assert not os.path.exists(image_path)


def test_it_refuses_to_delete_without_a_confirmation(user):
    character = CharacterFactory(owner=user)
    with pytest.raises(CommandError, match="Nothing deleted"):
        studio("delete-character", str(character.pk))
    assert Character.objects.filter(pk=character.pk).exists()


def test_it_explains_a_missing_character():
    with pytest.raises(CommandError, match="No character with id 999"):
        studio("delete-character", "999", "--yes")


def test_it_counts_characters_by_attribute_and_portraits_by_provider(user):
    CharacterFactory(owner=user, hair_color="red", accessories=["glasses", "scarf"])
    CharacterFactory(owner=user, hair_color="red", accessories=["glasses"])
    PortraitFactory(
        character=CharacterFactory(owner=user, hair_color="black"), provider="openai", status="failed"
    )
    data = json.loads(studio("character-stats", "--json"))
    assert data["characters"] == 3
    assert data["characters_by_attribute"]["hair_color"] == {"red": 2, "black": 1}
    assert data["characters_by_attribute"]["accessories"] == {"glasses": 2, "scarf": 1}
    assert data["portraits_by_provider"] == {"openai": {"failed": 1}}
    table = studio("character-stats")
    assert "Hair colour" in table and "Red" in table
    assert "openai" in table


def test_it_paints_portraits_here_with_wait(user):
    character = CharacterFactory(owner=user)
    rows = json.loads(
        studio("generate", str(character.pk), "--count", "2", "--size", "64x64", "--wait", "--json")
    )
    assert [row["status"] for row in rows] == ["succeeded", "succeeded"]
    assert Portrait.objects.filter(character=character, status="succeeded").count() == 2


def test_it_queues_portraits_for_the_worker_by_default(user):
    character = CharacterFactory(owner=user, name="Orla")
    output = studio("generate", str(character.pk), "--size", "64x64")
    assert "Queued 1 portrait of “Orla” with Local painter" in output
    assert Portrait.objects.get().status == "queued"


@pytest.mark.parametrize(
    "size, problem",
    [
        ("banana", "“banana” is not a size: write WIDTHxHEIGHT, one of 512x512, 1024x1024."),
        (
            "10x10",
            "Local painter paints sides of 64 to 2048 pixels, not 10x10; for example 512x512, 1024x1024.",
        ),
    ],
)
def test_it_refuses_a_size_the_provider_would_not_paint(user, size, problem):
    character = CharacterFactory(owner=user)
    with pytest.raises(CommandError) as refused:
        studio("generate", str(character.pk), "--size", size)
    assert str(refused.value) == problem
    assert not Portrait.objects.exists()


def test_it_refuses_a_size_a_remote_provider_does_not_offer(user, fake_openai):
    character = CharacterFactory(owner=user)
    with pytest.raises(CommandError, match="OpenAI does not offer 64x64; choose one of 1024x1024"):
        studio("generate", str(character.pk), "--provider", "openai", "--size", "64x64")


def test_it_refuses_to_generate_with_a_provider_that_has_no_key(user, settings):
    settings.OPENAI_API_KEY = ""
    character = CharacterFactory(owner=user)
    with pytest.raises(CommandError, match="OpenAI is not configured: set OPENAI_API_KEY"):
        studio("generate", str(character.pk), "--provider", "openai")
    with pytest.raises(CommandError, match='no image provider called "dalle"'):
        studio("generate", str(character.pk), "--provider", "dalle")
    assert not Portrait.objects.exists()


def test_it_fails_the_command_when_a_painted_portrait_fails(user, settings, fake_openai):
    settings.PROVIDER_MAX_ATTEMPTS = 1
    fake_openai.push(openai_error(400, "Your request was rejected.", code="moderation_blocked"))
    character = CharacterFactory(owner=user)
    with pytest.raises(CommandError, match="Some portraits failed"):
        studio("generate", str(character.pk), "--provider", "openai", "--wait")
    assert Portrait.objects.get().status == "failed"


def test_it_checks_providers_offline_without_showing_keys(settings):
    settings.OPENAI_API_KEY = "sk-secret-value-for-check"
    data = json.loads(studio("check-providers", "--offline", "--json"))
    openai = next(row for row in data["providers"] if row["provider"] == "openai")
    assert openai["key"] == "present"
    assert openai["model"] == "gpt-image-2"
    assert data["ok"] is True
    assert "sk-secret-value-for-check" not in json.dumps(data)


def test_it_lists_the_models_a_key_can_use_and_flags_a_shut_down_default(settings, fake_openai):
    settings.OPENAI_IMAGE_MODEL = "gpt-image-1"
    with pytest.raises(CommandError, match="Some providers have problems"):
        studio("check-providers")
    settings.OPENAI_IMAGE_MODEL = "gpt-image-2"
    output = studio("check-providers")
    assert "gpt-image-1-mini" in output  # listed by the (fake) API
    assert "problem" not in output


def test_it_fails_when_the_default_provider_has_no_key(settings):
    settings.DEFAULT_IMAGE_PROVIDER = "stability"
    settings.STABILITY_API_KEY = ""
    with pytest.raises(CommandError, match="Some providers have problems"):
        studio("check-providers", "--offline")


# As a user runs it: a separate process, exit codes, stdout that pipes.


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": _database_url(), "DEBUG": "1", "LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "manage.py", "studio", *args],
        cwd=django_settings.BASE_DIR,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.django_db(transaction=True)
def test_it_prints_only_json_on_stdout_in_a_real_process():
    user = UserFactory(email="cli@example.com")
    CharacterFactory(owner=user, name="Orla")
    result = run_cli("list-characters", "--json")
    assert result.returncode == 0, result.stderr
    assert [row["name"] for row in json.loads(result.stdout)] == ["Orla"]


@pytest.mark.django_db(transaction=True)
def test_it_exits_non_zero_with_a_one_line_message_on_errors():
    result = run_cli("delete-character", "424242", "--yes")
    assert result.returncode == 1
    assert "No character with id 424242" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    usage = run_cli("generate", "not-a-number")
    assert usage.returncode != 0
    assert "'not-a-number' is not a valid int" in usage.stderr


@pytest.mark.django_db(transaction=True)
def test_it_asks_before_deleting_and_respects_the_answer():
    character = CharacterFactory(owner=UserFactory(), name="Orla")
    declined = run_cli("delete-character", str(character.pk), stdin="n\n")
    assert declined.returncode == 1
    assert "Delete “Orla”" in declined.stderr
    assert Character.objects.filter(pk=character.pk).exists()
    accepted = run_cli("delete-character", str(character.pk), stdin="y\n")
    assert accepted.returncode == 0, accepted.stderr
    assert not Character.objects.filter(pk=character.pk).exists()


def test_it_explains_every_command_in_help():
    result = run_cli("--help")
    assert result.returncode == 0
    for name in ("list-characters", "delete-character", "character-stats", "generate", "check-providers"):
        assert name in result.stdout
    generate_help = run_cli("generate", "--help").stdout
    assert "--provider" in generate_help and "--count" in generate_help and "--wait" in generate_help


def test_check_providers_says_a_retired_default_model_was_retired_and_what_to_use(settings):
    from io import StringIO

    settings.OPENAI_API_KEY = "sk-x"
    settings.OPENAI_IMAGE_MODEL = "dall-e-3"
    out = StringIO()
    with pytest.raises(CommandError, match="Some providers have problems"):
        call_command("studio", "check-providers", "--offline", "--json", stdout=out)
    openai = next(row for row in json.loads(out.getvalue())["providers"] if row["provider"] == "openai")
    assert openai["retired"] == "dall-e-3 was retired on 2026-05-12; use gpt-image-2."
    assert "OPENAI_IMAGE_MODEL: dall-e-3 was retired on 2026-05-12; use gpt-image-2." in openai["problems"]
