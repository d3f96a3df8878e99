"""Structured logging: event lines with fields, a request id on every line of a request, no secrets.

Log an event as a short dotted name with its fields in `extra`:

    logger.info("generation.succeeded", extra={"portrait_id": 7, "provider": "openai", "duration_ms": 812})

`LOG_FORMAT=json` writes one JSON object per line (for a log shipper); otherwise lines read as
`2026-01-01 12:00:00 INFO studio.generation [req-id] generation.succeeded portrait_id=7 provider=openai`.

Both formatters scrub the final text: the value of every setting named like a secret (`*_KEY`, `*_TOKEN`,
`*SECRET`, `*PASSWORD`, nested ones too, such as a social app's `secret`) is replaced by `[redacted]`. It is a
safety net behind the rule that events never carry keys, whatever code path formats the line (an exception
message quoting a request, a third-party library's debug line).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is reused only when it is short and plain, so a client cannot forge multi-line log entries.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# Names of settings (and nested keys) whose values are secrets. Ends-with, not contains: PASSWORD_HASHERS and
# AUTH_PASSWORD_VALIDATORS hold class paths, not secrets.
_SECRET_NAME = re.compile(r"(KEY|KEY_ID|TOKEN|SECRET|PASSWORD)S?$", re.IGNORECASE)
_MIN_SECRET_LENGTH = 6  # shorter values would redact ordinary words
REDACTED = "[redacted]"

# Attributes every LogRecord has; anything else on a record came from `extra` and is an event field.
_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_OWN_ATTRIBUTES = {"request_id"}


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Give each request an id (the client's X-Request-ID when sane), log it on every line, return it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _SANE_REQUEST_ID.match(incoming) else new_request_id()
        request.request_id = request_id  # type: ignore[attr-defined]
        # Cleared on request_finished, not here: Django logs 4xx/5xx responses (django.request) after the
        # middleware chain has returned, and those lines belong to the request too.
        request_id_var.set(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Put the current request id (or "-" outside a request) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


def _walk_secrets(name: str, value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if _SECRET_NAME.search(name) and len(value) >= _MIN_SECRET_LENGTH:
            yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk_secrets(str(key), item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _walk_secrets(name, item)


@cache
def secret_values() -> tuple[str, ...]:
    """Every secret-looking setting value, longest first: a secret containing another is redacted whole."""
    from django.conf import settings

    found: set[str] = set()
    for name in dir(settings):
        if name.isupper():
            found.update(_walk_secrets(name, getattr(settings, name, None)))
    return tuple(sorted(found, key=len, reverse=True))


def _end_request(**_kwargs: Any) -> None:
    request_id_var.set("-")


def _forget_secrets(**_kwargs: Any) -> None:
    secret_values.cache_clear()


def scrub(text: str) -> str:
    for secret in secret_values():
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def event_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields an event carried in `extra`."""
    return {
        key: value
        for key, value in vars(record).items()
        if key not in _RECORD_ATTRIBUTES and key not in _OWN_ATTRIBUTES and not key.startswith("_")
    }


# Characters a terminal or log viewer may act on (ESC sequences, CR overwriting the line) or read as a line
# break (NEL, U+2028, U+2029): escaped in every value and message, so a user's text cannot forge a log line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# The same, less what json.dumps escapes itself.
_JSON_UNESCAPED = re.compile(r"[\x7f-\x9f\u2028\u2029]")


def _unicode_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def escape_controls(text: str) -> str:
    """text with its control and line-breaking characters written as \\uXXXX (a newline too)."""
    return _CONTROL.sub(_unicode_escape, text)


def _plain_value(value: Any) -> str:
    if isinstance(value, list | tuple | dict):
        return _JSON_UNESCAPED.sub(
            _unicode_escape, json.dumps(value, separators=(",", ":"), default=str, ensure_ascii=False)
        )
    text = str(value)
    if not text or _CONTROL.search(text) or any(char in text for char in ' "='):
        return _JSON_UNESCAPED.sub(_unicode_escape, json.dumps(text, ensure_ascii=False))
    return text


class PlainFormatter(logging.Formatter):
    """`time LEVEL logger [request-id] event key=value ...`, one line per record except tracebacks."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        # The message on one line (a path in "Not Found: /..." is the client's text); a traceback after it
        # keeps its own lines.
        msg, args = record.msg, record.args
        record.msg, record.args = escape_controls(record.getMessage()), ()
        try:
            line = super().format(record)
        finally:
            record.msg, record.args = msg, args
        fields = " ".join(f"{key}={_plain_value(value)}" for key, value in event_fields(record).items())
        if fields:
            head, sep, tail = line.partition("\n")
            line = f"{head} {fields}{sep}{tail}"
        return scrub(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event, request_id, the event's fields, the exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        entry.update(event_fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # Scrub the text before encoding, so a secret is found even where JSON would escape it.
        text = json.dumps(_scrub_values(entry), default=str, ensure_ascii=False)
        return _JSON_UNESCAPED.sub(_unicode_escape, text)


def _scrub_values(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {key: _scrub_values(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_values(item) for item in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return scrub(str(value))


def connect_signals() -> None:
    from django.core.signals import request_finished, setting_changed

    request_finished.connect(_end_request, dispatch_uid="studio.logging.end_request")

    setting_changed.connect(_forget_secrets, dispatch_uid="studio.logging.forget_secrets")
