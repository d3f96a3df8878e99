"""What the `requests`-based providers share: a session, timeouts, and status/exception classification."""

from __future__ import annotations

import threading
import time
from typing import Any, ClassVar

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from studio.portraits.providers.base import (
    CONNECT_TIMEOUT,
    ErrorKind,
    Provider,
    ProviderError,
    parse_retry_after,
    setting,
)

USER_AGENT = "DaliStudio/1.0 (+https://github.com/dali-studio)"


_sessions = threading.local()
# A connection idle longer than this is not reused: a NAT or load balancer may have forgotten it without a
# word, and a request sent on it fails after leaving (so it cannot be retried safely: it might be billed).
# httpx, under the OpenAI SDK, keeps idle connections 5 s; between a worker's back-to-back jobs 30 s is ample.
SESSION_IDLE_SECONDS = 30.0


def shared_session() -> requests.Session:
    """This thread's session, kept across jobs so a worker reuses its connections to each provider.

    A worker makes a fresh provider for every job; a fresh session would open a new connection (TCP and TLS
    handshakes) for each image. requests sessions are not documented as thread-safe, so one per thread; the
    key goes in each request's headers, never in the session. After SESSION_IDLE_SECONDS without use the
    session (and its pooled connections) is replaced."""
    now = time.monotonic()
    session = getattr(_sessions, "session", None)
    if session is not None and now - _sessions.used_at > SESSION_IDLE_SECONDS:
        session.close()
        session = None
    if session is None:
        session = _sessions.session = requests.Session()
        session.headers["User-Agent"] = USER_AGENT
    _sessions.used_at = now
    return session


class HTTPProvider(Provider):
    base_url_setting: ClassVar[str]
    default_base_url: ClassVar[str]

    def __init__(self) -> None:
        super().__init__()
        self.base_url = (
            setting(self.base_url_setting, self.default_base_url) or self.default_base_url
        ).rstrip("/")

    def post(self, url: str, *, model: str, **kwargs: Any) -> requests.Response:
        """POST with the provider's key and a timeout; network failures become TRANSIENT ProviderErrors."""
        headers = {"Authorization": f"Bearer {self.api_key}", **kwargs.pop("headers", {})}
        session = shared_session()
        try:
            return session.post(
                url, headers=headers, timeout=(min(CONNECT_TIMEOUT, self.timeout), self.timeout), **kwargs
            )
        except requests.RequestException as exc:
            # Failing to connect is safe to repeat; a timeout or drop after sending may have been billed.
            raise self.error(
                ErrorKind.TRANSIENT,
                f"{type(exc).__name__}: {exc}",
                model=model,
                maybe_billed=not _never_sent(exc),
            ) from exc
        finally:
            _sessions.used_at = time.monotonic()  # idle time counts from the end of the last request

    def status_error(
        self, response: requests.Response, model: str, detail: str, kind: ErrorKind | None = None
    ) -> ProviderError:
        """Classify a failed response by its status, unless the provider already knows the kind."""
        status = response.status_code
        if kind is None:
            kind = status_kind(status)
        retry_after = parse_retry_after(response.headers) if kind.retryable else None
        return self.error(kind, detail, model=model, retry_after=retry_after, status=status)


def status_kind(status: int) -> ErrorKind:
    if status in (401, 403):
        return ErrorKind.AUTH
    if status == 402:
        return ErrorKind.QUOTA
    if status in (404, 410):
        # 410 Gone: the provider retired the model (or its endpoint) for good.
        return ErrorKind.MODEL_UNAVAILABLE
    if status == 429:
        return ErrorKind.RATE_LIMITED
    if status in (408, 409) or status >= 500:
        return ErrorKind.TRANSIENT
    return ErrorKind.INVALID_REQUEST


def json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _never_sent(exc: requests.RequestException) -> bool:
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))
