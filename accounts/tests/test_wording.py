"""One wording on every account page: "Log in", "Sign up", "Log out", as the navigation bar says.

allauth says "Sign In", "Signup", "Sign Up" and "Sign Out"; locale/en/LC_MESSAGES/django.po gives its strings
the studio's words, and the studio's own account templates use them too. Each page a visitor can reach is
fetched and its visible text (and the attributes a screen reader reads) searched for allauth's words.
"""

from __future__ import annotations

import gettext
import re
from html.parser import HTMLParser
from pathlib import Path

import allauth
import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.adapter import get_adapter as get_social_adapter
from allauth.socialaccount.models import SocialAccount, SocialLogin
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from site_config.settings import social_providers

pytestmark = pytest.mark.django_db

# "sign in", "Sign-In", "signed out", "Signing in", "Signup", "Sign Up"; the verb "sign up" is the studio's.
OTHER_WORDING = re.compile(
    r"\b[Ss]ign(?:ed|ing)?[- ]?(?:[Ii]n|[Oo]ut)\b|\b[Ss]ign-?up\b|\bSign Up\b|\bSIGN ?(?:IN|UP|OUT)\b"
)
CATALOG = Path(django_settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"


class VisibleText(HTMLParser):
    """What a visitor reads or hears: text outside <script> and <style>, and the labels in attributes."""

    SPOKEN = {"aria-label", "title", "placeholder", "alt", "value"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._hidden += 1
        typed = dict(attrs).get("type") in {"hidden", "email", "text"}  # a value there is data, not a label
        for name, value in attrs:
            if name in self.SPOKEN and value and not (name == "value" and typed):
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def other_wording(text: str) -> list[str]:
    return sorted({match.group(0) for match in OTHER_WORDING.finditer(text)})


def assert_studio_wording(response, expected: str | None = None) -> str:
    assert response.status_code < 500, response.status_code
    text = visible_text(response.content.decode())
    assert other_wording(text) == [], f"{response.request['PATH_INFO']}: {text[:400]}"
    if expected:
        assert expected in text, f"{response.request['PATH_INFO']}: {text[:400]}"
    return text


def test_the_pattern_finds_allauths_wording_and_passes_the_studios():
    assert other_wording("Sign In · Signup · Sign Up · Sign Out · sign in · Sign-In Code · signed out") == [
        "Sign In",
        "Sign Out",
        "Sign Up",
        "Sign-In",
        "Signup",
        "sign in",
        "signed out",
    ]
    assert other_wording("Log in · Sign up · Log out · sign up first · Continue with Single sign-on") == []
    assert visible_text('<a title="Sign In" href="/accounts/signup/">x</a><script>"Sign Up"</script>') == (
        "Sign In x"
    )


@pytest.mark.parametrize(
    ("url_name", "expected"),
    [
        ("account_login", "Log in"),
        ("account_signup", "Sign up"),
        ("account_reset_password", "Password"),
        ("account_reset_password_done", "Password"),
        ("account_reset_password_from_key_done", "Password"),
        ("account_email_verification_sent", "verify"),
        ("account_inactive", None),
        ("socialaccount_login_cancelled", "Login cancelled"),
        ("socialaccount_login_error", "Login failed"),
    ],
)
def test_pages_for_visitors_say_log_in_and_sign_up(client, url_name, expected):
    assert_studio_wording(client.get(reverse(url_name)), expected)


def test_the_login_and_signup_pages_name_each_other_in_the_studios_words(client):
    login = assert_studio_wording(client.get(reverse("account_login")))
    assert "<title>Log in · Dali Studio</title>" in client.get(reverse("account_login")).text
    assert "Log in" in login
    signup = assert_studio_wording(client.get(reverse("account_signup")))
    assert "Already have an account? Then log in" in signup


def test_links_with_a_broken_key_say_it_in_the_studios_words(client):
    assert_studio_wording(client.get(reverse("account_reset_password_from_key", args=["x", "bad-key"])))
    assert_studio_wording(client.get(reverse("account_confirm_email", args=["bad-key"])))


@pytest.mark.parametrize(
    ("url_name", "expected"),
    [
        ("account_profile", "Ways to log in"),
        ("account_logout", "Are you sure you want to log out?"),
        ("account_reauthenticate", "Confirm"),
        ("account_email", "Email"),
        ("account_change_password", "Password"),
        ("account_api_token", "API token"),
        ("socialaccount_connections", "Connected accounts"),
    ],
)
def test_pages_for_members_say_log_in_and_log_out(logged_in_client, url_name, expected):
    assert_studio_wording(logged_in_client.get(reverse(url_name)), expected)


def test_the_log_out_confirmation_and_message_say_log_out(logged_in_client):
    page = assert_studio_wording(logged_in_client.get(reverse("account_logout")))
    assert "Log out" in page
    response = logged_in_client.post(reverse("account_logout"), follow=True)
    assert_studio_wording(response, "You have logged out.")


def test_the_log_in_message_says_logged_in(client, user):
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": "correct-horse-battery"}, follow=True
    )
    assert_studio_wording(response, f"Logged in as {user.email}.")


def test_a_providers_login_page_says_log_in(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = social_providers(
        oidc=("o-id", "o-secret"), oidc_server_url="http://127.0.0.1:1/", oidc_name="Team SSO"
    )
    assert_studio_wording(client.get("/accounts/oidc/oidc/login/"), "Log in via Team SSO")


def test_a_social_signup_whose_email_is_taken_says_log_in_first(client, user, settings, rf):
    """The form allauth shows when a provider's email address belongs to an existing account."""
    settings.SOCIALACCOUNT_PROVIDERS = social_providers(
        oidc=("o-id", "o-secret"), oidc_server_url="http://127.0.0.1:1/", oidc_name="Team SSO"
    )
    pending = SocialLogin(
        provider=get_social_adapter().get_provider(rf.get("/"), "oidc"),
        user=get_user_model()(email=user.email),
        account=SocialAccount(provider="oidc", uid="someone", extra_data={}),
        email_addresses=[EmailAddress(email=user.email, verified=False, primary=True)],
    )
    session = client.session
    session["socialaccount_sociallogin"] = pending.serialize()
    session.save()
    assert_studio_wording(client.get(reverse("socialaccount_signup")), "Sign up")
    response = client.post(reverse("socialaccount_signup"), {"email": user.email})
    assert_studio_wording(response, "Please log in to that account first")


def test_account_emails_say_log_in_and_sign_up(client, user, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"  # a signup with a taken address gets an email then
    client.post(reverse("account_reset_password"), {"email": user.email})
    client.post(
        reverse("account_signup"),
        {"email": user.email, "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"},
    )
    assert len(mail.outbox) == 2
    assert "tried to sign up" in mail.outbox[1].body
    for message in mail.outbox:
        assert other_wording(message.subject + "\n" + message.body) == [], message.body


def po_entries(path: Path) -> dict[str, str]:
    """msgid -> msgstr of a .po file (no contexts or plurals: the catalogs here have none we use)."""
    entries: dict[str, str] = {}
    current: dict[str, list[str]] = {}
    key = ""
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if line.startswith(("msgid ", "msgstr ")):
            key, _, rest = line.partition(" ")
            if key == "msgid" and "msgstr" in current:
                entries["".join(current["msgid"])] = "".join(current["msgstr"])
                current = {}
            current[key] = [rest]
        elif line.startswith('"') and key:
            current[key].append(line)
        elif not line.strip() and "msgstr" in current:
            entries["".join(current["msgid"])] = "".join(current["msgstr"])
            current, key = {}, ""
    return {_unquote(msgid): _unquote(msgstr) for msgid, msgstr in entries.items()}


def _unquote(joined: str) -> str:
    return "".join(
        part.encode("latin-1", "backslashreplace").decode("unicode_escape")
        for part in re.findall(r'"((?:[^"\\]|\\.)*)"', joined)
    )


def test_the_compiled_catalog_is_the_one_written():
    written = {msgid: msgstr for msgid, msgstr in po_entries(CATALOG / "django.po").items() if msgid}
    with (CATALOG / "django.mo").open("rb") as compiled_file:
        compiled = gettext.GNUTranslations(compiled_file)
    assert len(written) > 20
    for msgid, msgstr in written.items():
        assert compiled.gettext(msgid) == msgstr, f"run msgfmt (see django.po): {msgid!r}"


def test_every_string_the_catalog_rewords_is_allauths_and_every_allauth_sign_in_is_reworded():
    ours = {msgid: msgstr for msgid, msgstr in po_entries(CATALOG / "django.po").items() if msgid}
    theirs = po_entries(Path(allauth.__file__).parent / "locale" / "en" / "LC_MESSAGES" / "django.po")
    assert set(ours) <= set(theirs), "no longer in allauth: " + repr(set(ours) - set(theirs))
    for msgstr in ours.values():
        assert other_wording(msgstr) == [], msgstr
    missed = [msgid for msgid in theirs if msgid and other_wording(msgid) and msgid not in ours]
    assert missed == []


def test_the_closed_signup_page_says_it_in_the_studios_words(client, settings):
    settings.ACCOUNT_ALLOW_SIGNUP = False
    assert_studio_wording(client.get(reverse("account_signup")), "Signing up is closed")
