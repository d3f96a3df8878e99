from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.models import ApiToken
from studio.characters.models import Character
from studio.portraits.generation import queue_character_portrait
from studio.portraits.jobs import run_portrait_job
from studio.portraits.models import Portrait
from studio.tests.factories import CharacterFactory

pytestmark = pytest.mark.django_db


def media_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def painted_character(owner, name: str) -> Character:
    character = CharacterFactory(owner=owner, name=name)
    run_portrait_job(queue_character_portrait(character, size="64x64").pk)
    return character


def test_it_links_the_account_page_from_the_user_menu(logged_in_client):
    response = logged_in_client.get(reverse("studio:character_list"))
    assert reverse("account_profile") in response.text


def test_it_shows_sign_in_methods_addresses_token_export_and_deletion(logged_in_client, user, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"github": {"APPS": [{"client_id": "id", "secret": "shh-secret"}]}}
    CharacterFactory(owner=user)
    ApiToken.issue(user)
    SocialAccount.objects.create(user=user, provider="github", uid="4242", extra_data={"login": "octo"})
    response = logged_in_client.get(reverse("account_profile"))
    text = response.text
    assert response.status_code == 200
    assert "1 character," in text
    assert "Password: set" in text and reverse("account_change_password") in text
    assert "GitHub: octo" in text and reverse("socialaccount_connections") in text
    assert reverse("account_email") in text
    assert "dali_" in text and reverse("account_api_token") in text
    assert reverse("account_export") in text
    assert "Type your email address to confirm" in text


def test_it_offers_to_connect_only_the_configured_providers(logged_in_client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {}
    assert "Connect " not in logged_in_client.get(reverse("account_profile")).text
    settings.SOCIALACCOUNT_PROVIDERS = {"github": {"APPS": [{"client_id": "id", "secret": "shh-secret"}]}}
    text = logged_in_client.get(reverse("account_profile")).text
    assert "Connect GitHub" in text
    assert "Connect Google" not in text
    assert "process=connect" in text


def test_it_warns_before_disconnecting_the_only_way_to_sign_in(logged_in_client, user):
    user.set_unusable_password()
    user.save()
    SocialAccount.objects.create(user=user, provider="github", uid="1")
    logged_in_client.force_login(user)
    text = logged_in_client.get(reverse("account_profile")).text
    assert "Set a password" in text
    assert "so you can still log in" in text


def test_it_exports_only_the_users_own_characters_as_json(logged_in_client, user, other_user):
    CharacterFactory(owner=user, name="Orla", hair_color="red", accessories=["glasses"])
    CharacterFactory(owner=other_user, name="Bram")
    response = logged_in_client.get(reverse("account_export"))
    assert response["Content-Disposition"].startswith('attachment; filename="dali-characters-')
    data = json.loads(response.content)
    assert data["format"] == "dali-studio/characters"
    [orla] = data["characters"]
    assert orla["name"] == "Orla"
    assert orla["hair_color"] == "red"
    assert orla["accessories"] == ["glasses"]


def test_it_keeps_the_account_when_the_typed_email_is_wrong(reauthenticated_client, user):
    CharacterFactory(owner=user)
    response = reauthenticated_client.post(reverse("account_delete"), {"confirm_email": "someone@else.com"})
    assert response.status_code == 400
    assert "That is not your email address; nothing was deleted." in response.text
    assert get_user_model().objects.filter(pk=user.pk).exists()
    assert Character.objects.filter(owner=user).count() == 1


def test_it_deletes_the_account_with_its_characters_portraits_and_files(
    reauthenticated_client, user, other_user, settings
):
    logged_in_client = reauthenticated_client
    painted_character(user, "Orla")
    painted_character(user, "Ida")
    kept = painted_character(other_user, "Bram")
    kept_files = {Path(p.image.path) for p in Portrait.objects.filter(owner=other_user)} | {
        Path(p.thumbnail.path) for p in Portrait.objects.filter(owner=other_user)
    }
    assert len(media_files(settings)) == 6
    response = logged_in_client.post(reverse("account_delete"), {"confirm_email": user.email.upper()})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert not get_user_model().objects.filter(pk=user.pk).exists()
    assert not Character.objects.filter(owner_id=user.pk).exists()
    assert not Portrait.objects.filter(owner_id=user.pk).exists()
    assert set(media_files(settings)) == kept_files  # nothing orphaned, nothing of anyone else's touched
    assert Character.objects.filter(pk=kept.pk).exists()
    home = logged_in_client.get(reverse("home"))
    assert "Your account, characters and portraits were deleted." in home.text
    assert logged_in_client.get(reverse("account_profile")).status_code == 302  # logged out


def test_it_needs_a_login_for_the_account_pages(client):
    for name in ("account_profile", "account_export"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert reverse("account_login") in response["Location"]
    assert client.post(reverse("account_delete"), {"confirm_email": "x@example.com"}).status_code == 302


def test_it_saves_the_community_credit_choice_with_a_display_name(logged_in_client, user):
    url = reverse("account_profile")
    refused = logged_in_client.post(url, {"display_name": "", "credit_in_community": "on"})
    assert refused.status_code == 400
    assert "Choose a display name to be credited by." in refused.text
    response = logged_in_client.post(url, {"display_name": "Ada Quill", "credit_in_community": "on"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.credit_in_community and user.display_name == "Ada Quill"
    assert "Your Community credit was saved." in logged_in_client.get(url).text


def test_a_reload_after_creating_a_token_never_issues_another(reauthenticated_client, user):
    logged_in_client = reauthenticated_client
    url = reverse("account_api_token")
    created = logged_in_client.post(url, {"action": "create"})
    assert created.status_code == 302 and created["Location"] == url
    page = logged_in_client.get(url).text
    raw = page.split('id="api-token-value"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    assert 'data-copy="#api-token-value"' in page
    reloaded = logged_in_client.get(url).text
    assert raw not in reloaded, "shown once"
    assert ApiToken.objects.get(user=user).key_hash == ApiToken.hash(raw), "the copied token still works"


def test_the_connected_accounts_page_explains_when_no_login_provider_is_set_up(logged_in_client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {}
    page = logged_in_client.get(reverse("socialaccount_connections")).text
    assert "No account from another site is connected to this one." in page
    assert "No login provider is configured on this studio" in page
    assert "Connect " not in page


def test_the_token_line_ends_its_sentence_once(logged_in_client, user):
    """Django's default datetime format ends in "a.m.", which printed "last used 7 Dec 2026, 5:35 a.m.."."""
    token, _raw = ApiToken.issue(user)
    text = logged_in_client.get(reverse("account_profile")).text
    assert f"<code>{token.hint}…</code>, never used." in text
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=datetime(2026, 12, 7, 5, 35, tzinfo=UTC))
    text = logged_in_client.get(reverse("account_profile")).text
    assert 'last used <time datetime="2026-12-07T05:35:00+00:00">7 Dec 2026, 05:35</time>.' in text
    assert ".." not in text.split('id="h-token"', 1)[1].split("</section>", 1)[0]
    page = logged_in_client.get(reverse("account_api_token")).text
    assert ">7 Dec 2026, 05:35</time>" in page
