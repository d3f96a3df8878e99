from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.internal import ratelimit
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.http import HttpRequest

# Failed logins are limited twice (settings.ACCOUNT_RATE_LIMITS), in the shared cache:
# - "login_failed" per IP and per (account, IP): a stranger who guesses wrong locks out only their own
#   address, never the account's owner elsewhere. A successful login rolls back its own attempt (allauth).
# - "login_failed_account" per account, from any address: a looser lock against guessing spread over many
#   addresses. A password reset or a successful login clears it (so does its expiry).
ACCOUNT_LOCK_ACTION = "login_failed_account"


def _login(credentials: dict[str, Any]) -> str:
    return str(credentials.get("email") or credentials.get("username") or "").strip().lower()


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return settings.ACCOUNT_ALLOW_SIGNUP

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        return f"{_login(credentials)}|{ratelimit.get_ip(request)}"

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        super().pre_authenticate(request, **credentials)
        self._account_lock_usage = ratelimit.consume(
            request, app="allauth.account", action=ACCOUNT_LOCK_ACTION, key=_login(credentials)
        )
        if not self._account_lock_usage:
            self._rollback_login_failed_rl_usage()
            raise self.validation_error("too_many_login_attempts")

    def authenticate(self, request: HttpRequest, **credentials: Any):
        user = super().authenticate(request, **credentials)
        if user is not None:
            clear_account_lock(request, _login(credentials))
        return user

    def _delete_login_attempts_cached_email(self, request: HttpRequest, **credentials: Any) -> None:
        # A password reset (rate limited itself, and proof of the mailbox) lifts both locks.
        super()._delete_login_attempts_cached_email(request, **credentials)
        clear_account_lock(request, _login(credentials))


def clear_account_lock(request: HttpRequest, login: str) -> None:
    ratelimit.clear(request, app="allauth.account", action=ACCOUNT_LOCK_ACTION, key=login)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: object) -> bool:
        return settings.ACCOUNT_ALLOW_SIGNUP
