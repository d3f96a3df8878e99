from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from studio.characters.models import Character
from studio.portraits.demo import DEMO_EMAIL
from studio.portraits.models import Portrait

pytestmark = pytest.mark.django_db


def test_it_seeds_a_demo_user_with_characters_and_painted_portraits(capsys):
    call_command("studio", "seed-demo", "--portraits", "1")
    output = capsys.readouterr().out
    user = get_user_model().objects.get(email=DEMO_EMAIL)
    assert Character.objects.filter(owner=user).count() == 3
    assert Portrait.objects.filter(owner=user, status="succeeded").count() == 3
    assert DEMO_EMAIL in output and "dali-demo-portraits" in output


def test_it_seeds_only_once(capsys):
    call_command("studio", "seed-demo", "--portraits", "1")
    call_command("studio", "seed-demo", "--portraits", "1")
    assert Character.objects.count() == 3
    assert "already present" in capsys.readouterr().out


def test_it_imports_and_exports_through_the_studio_command_group(user, tmp_path, capsys):
    source = tmp_path / "cast.csv"
    source.write_text("name,hair colour\nIvo,Red\n", encoding="utf-8")
    call_command("studio", "import", str(source), "--owner", user.email)
    assert Character.objects.get(owner=user, name="Ivo").hair_color == "red"
    target = tmp_path / "out.json"
    call_command("studio", "export", str(target), "--owner", user.email)
    assert '"Ivo"' in target.read_text(encoding="utf-8")


def test_it_prints_the_address_the_server_really_uses(capsys):
    call_command("studio", "seed-demo", "--portraits", "1", "--port", "8123")
    assert "http://127.0.0.1:8123/" in capsys.readouterr().out
