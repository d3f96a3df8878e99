from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )


def test_it_passes_the_deployment_checklist_with_production_settings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY="x7!Qp2-production-like-secret-key-with-plenty-of-entropy-0123456789",
        ALLOWED_HOSTS="studio.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_it_refuses_to_start_without_a_secret_key_in_production():
    result = _manage("check", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_it_fails_loudly_on_a_malformed_boolean():
    result = _manage("check", DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def _settings_in_subprocess(env: dict[str, str], expression: str) -> subprocess.CompletedProcess[str]:
    script = (
        "import django, json; django.setup(); from django.conf import settings;"
        f"print(json.dumps({expression}))"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "site_config.settings", "DEBUG": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_configures_s3_compatible_media_storage_from_the_environment():
    result = _settings_in_subprocess(
        {
            "STORAGE_BACKEND": "storages.backends.s3.S3Storage",
            "AWS_STORAGE_BUCKET_NAME": "dali-media",
            "AWS_S3_ENDPOINT_URL": "http://minio:9000",
        },
        'settings.STORAGES["default"]',
    )
    assert result.returncode == 0, result.stderr
    storage = json.loads(result.stdout)
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert storage["OPTIONS"]["bucket_name"] == "dali-media"
    assert storage["OPTIONS"]["endpoint_url"] == "http://minio:9000"
    assert storage["OPTIONS"]["default_acl"] == "private"


def test_it_refuses_s3_storage_without_a_bucket():
    result = _settings_in_subprocess({"STORAGE_BACKEND": "storages.backends.s3.S3Storage"}, "1")
    assert result.returncode != 0
    assert "set AWS_STORAGE_BUCKET_NAME" in result.stderr


def test_it_reads_social_providers_and_log_format_from_the_environment():
    result = _settings_in_subprocess(
        {
            "GITHUB_CLIENT_ID": "gh-id",
            "GITHUB_CLIENT_SECRET": "gh-secret",
            "OIDC_CLIENT_ID": "kc-id",
            "OIDC_CLIENT_SECRET": "kc-secret",
            "OIDC_SERVER_URL": "https://sso.example.com/realms/team",
            "OIDC_NAME": "Keycloak",
            "LOG_FORMAT": "json",
        },
        '[sorted(settings.SOCIALACCOUNT_PROVIDERS), settings.LOGGING["handlers"]["console"]["formatter"]]',
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [["github", "openid_connect"], "json"]
    bad = _settings_in_subprocess({"LOG_FORMAT": "xml"}, "1")
    assert "LOG_FORMAT must be plain or json" in bad.stderr


def test_it_reads_per_provider_timeouts_defaulting_to_provider_timeout():
    result = _settings_in_subprocess(
        {"PROVIDER_TIMEOUT": "90", "OPENAI_TIMEOUT": "45"},
        "[settings.OPENAI_TIMEOUT, settings.STABILITY_TIMEOUT, settings.HUGGINGFACE_TIMEOUT,"
        " settings.PROVIDER_CHECK_TIMEOUT]",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [45.0, 90.0, 90.0, 10.0]
    bad = _settings_in_subprocess({"STABILITY_TIMEOUT": "soon"}, "1")
    assert "STABILITY_TIMEOUT must be a number" in bad.stderr


def test_it_binds_parameters_server_side_on_postgresql_unless_switched_off():
    """Server-side binding lets psycopg prepare repeated statements; off for a transaction-mode PgBouncer."""
    expression = "settings.DATABASES['default'].get('OPTIONS', {}).get('server_side_binding', False)"
    postgres = {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/dali"}
    assert json.loads(_settings_in_subprocess(postgres, expression).stdout) is True
    switched_off = {**postgres, "DATABASE_SERVER_SIDE_BINDING": "0"}
    assert json.loads(_settings_in_subprocess(switched_off, expression).stdout) is False
    sqlite = {"DATABASE_URL": "sqlite:////tmp/dali-settings-test.sqlite3"}
    assert json.loads(_settings_in_subprocess(sqlite, expression).stdout) is False


def test_it_collects_static_files_with_hashed_names_for_production(tmp_path):
    """What the Docker build runs: every vendored reference must resolve for the manifest."""
    result = _manage(
        "collectstatic",
        "--noinput",
        DEBUG="0",
        SECRET_KEY="x7!Qp2-production-like-secret-key-with-plenty-of-entropy-0123456789",
        STATIC_ROOT=str(tmp_path / "static"),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = (tmp_path / "static" / "staticfiles.json").read_text()
    assert "django_htmx/htmx-2.min.js" in manifest
    assert "vendor/bootstrap/bootstrap.min.css" in manifest


def test_it_gives_the_rq_connection_a_connect_timeout_unless_the_url_has_one():
    expression = "settings.RQ_QUEUES['default']['URL']"
    rq = {"TASK_BACKEND": "django_tasks_rq.RQBackend", "REDIS_URL": "redis://cache:6379/2"}
    assert json.loads(_settings_in_subprocess(rq, expression).stdout) == (
        "redis://cache:6379/2?socket_connect_timeout=5"
    )
    own = {**rq, "REDIS_URL": "redis://cache:6379/2?socket_connect_timeout=1"}
    assert json.loads(_settings_in_subprocess(own, expression).stdout) == own["REDIS_URL"]


def test_it_shares_the_cache_through_redis_when_redis_url_is_set_else_the_database():
    expression = "[settings.CACHES['default']['BACKEND'], settings.CACHES['default']['LOCATION']]"
    redis = _settings_in_subprocess({"REDIS_URL": "redis://cache:6379/1"}, expression)
    assert json.loads(redis.stdout) == ["django.core.cache.backends.redis.RedisCache", "redis://cache:6379/1"]
    database = _settings_in_subprocess({"REDIS_URL": "", "CACHE_REDIS_URL": ""}, expression)
    assert json.loads(database.stdout) == ["django.core.cache.backends.db.DatabaseCache", "studio_cache"]


def test_it_reads_whether_signup_is_open_from_the_environment():
    assert json.loads(_settings_in_subprocess({}, "settings.ACCOUNT_ALLOW_SIGNUP").stdout) is True
    closed = _settings_in_subprocess({"ACCOUNT_ALLOW_SIGNUP": "0"}, "settings.ACCOUNT_ALLOW_SIGNUP")
    assert json.loads(closed.stdout) is False
    assert (
        "ACCOUNT_ALLOW_SIGNUP must be a boolean"
        in _manage("check", DEBUG="1", ACCOUNT_ALLOW_SIGNUP="later").stderr
    )


def test_it_reads_the_reference_upload_limit_from_the_environment_defaulting_to_the_labs():
    result = _settings_in_subprocess(
        {"LAB_MAX_UPLOAD_BYTES": "2000000"},
        "[settings.REFERENCE_MAX_UPLOAD_BYTES, settings.MAX_REQUEST_BYTES]",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0] == 2_000_000
    result = _settings_in_subprocess(
        {"REFERENCE_MAX_UPLOAD_BYTES": "90000000"},
        "[settings.REFERENCE_MAX_UPLOAD_BYTES, settings.MAX_REQUEST_BYTES]",
    )
    assert json.loads(result.stdout) == [90_000_000, 90_000_000 + 1024 * 1024]  # the request limit makes room


def test_the_readme_documents_every_environment_variable_that_settings_reads():
    """Each name settings.py reads with env_*() or os.environ is in the first column of a README table."""
    source = (ROOT / "site_config" / "settings.py").read_text(encoding="utf-8")
    read = set(re.findall(r"\benv_\w+\(\s*\"(\w+)\"", source))
    read |= set(re.findall(r"os\.environ(?:\.get\(|\[)\s*\"(\w+)\"", source))
    assert {"DEBUG", "PORTRAIT_LEASE_SECONDS", "ACCOUNT_ALLOW_SIGNUP", "TIME_ZONE"} <= read  # the scan works
    rows = [
        line for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines() if line.startswith("|")
    ]
    documented = {name for row in rows for name in re.findall(r"`(\w+)`", row.split("|")[1])}
    assert sorted(read - documented) == []
