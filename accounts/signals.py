"""Log sign-ins, sign-outs, failed attempts and social account changes: who and how, never a credential."""

from __future__ import annotations

import logging
from typing import Any

from allauth.account.signals import user_logged_in, user_signed_up
from allauth.socialaccount.signals import social_account_added, social_account_removed
from django.contrib.auth.signals import user_logged_out, user_login_failed
from django.http import HttpRequest

logger = logging.getLogger("accounts")


def _client_ip(request: HttpRequest | None) -> str:
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


def _method(kwargs: dict[str, Any]) -> str:
    sociallogin = kwargs.get("sociallogin")
    return f"social:{sociallogin.account.provider}" if sociallogin is not None else "password"


def _logged_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    # allauth's signal (every sign-in through the site's pages), which says whether it was a social login.
    logger.info(
        "auth.login", extra={"user_id": user.pk, "method": _method(kwargs), "ip": _client_ip(request)}
    )


def _signed_up(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    logger.info("auth.signup", extra={"user_id": user.pk, "method": _method(kwargs)})


def _logged_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    logger.info("auth.logout", extra={"user_id": getattr(user, "pk", None), "ip": _client_ip(request)})


def _login_failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs):
    # Django already masks the password in `credentials`; only the attempted login (an email) is kept, and
    # only when it looks like one: people do type passwords into the email field.
    login = str(credentials.get("email") or credentials.get("username") or "")
    logger.warning(
        "auth.login_failed", extra={"login": login if "@" in login else "", "ip": _client_ip(request)}
    )


def _social_added(sender: Any, request: HttpRequest, sociallogin: Any, **kwargs: Any) -> None:
    logger.info(
        "auth.social_connected",
        extra={"user_id": sociallogin.user.pk, "provider": sociallogin.account.provider},
    )


def _social_removed(sender: Any, request: HttpRequest, socialaccount: Any, **kwargs: Any) -> None:
    logger.info(
        "auth.social_disconnected",
        extra={"user_id": socialaccount.user_id, "provider": socialaccount.provider},
    )


def connect() -> None:
    user_logged_in.connect(_logged_in, dispatch_uid="accounts.logged_in")
    user_signed_up.connect(_signed_up, dispatch_uid="accounts.signed_up")
    user_logged_out.connect(_logged_out, dispatch_uid="accounts.logged_out")
    user_login_failed.connect(_login_failed, dispatch_uid="accounts.login_failed")
    social_account_added.connect(_social_added, dispatch_uid="accounts.social_added")
    social_account_removed.connect(_social_removed, dispatch_uid="accounts.social_removed")
