"""Dali Studio settings: one file, driven by environment variables.

Every value that differs between a laptop and a server comes from the environment. The helpers below fail
loudly on a value they cannot read, so a typo in a deployment is a start-up error, not a silent default.
"""

from __future__ import annotations

import os
import sys
import tempfile
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false, yes/no, on/off), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_limits(name: str, default: str = "") -> dict[str, int]:
    """Read "name=N,name=N" as {name: N}, every N a whole number of at least 1."""
    limits = {}
    for item in env_list(name, default):
        key, _, value = item.partition("=")
        try:
            limit = int(value)
        except ValueError:
            limit = 0
        if not key.strip() or limit < 1:
            raise ImproperlyConfigured(
                f'{name} must look like "openai=4,stability=2" (each limit a whole number of at least 1), '
                f"got {item!r}"
            )
        limits[key.strip()] = limit
    return limits


TESTING = "pytest" in sys.modules or sys.argv[1:2] == ["test"]
DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if DEBUG or TESTING:
        SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"  # noqa: S105
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random string "
            "(for example: python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DEBUG=1 for local development."
        )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if (DEBUG or TESTING) else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials.apps.SimpleAppConfig",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_tasks",
    "django_tasks_db",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.openid_connect",
    "accounts",
    "studio",
]

MIDDLEWARE = [
    "studio.logging.RequestIdMiddleware",
    "studio.middleware.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "studio.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "studio.middleware.HtmxMessagesMiddleware",
    "studio.errors.FriendlyDebug404Middleware",
]
# A form whose CSRF token no longer matches gets a page in the site's layout that says to reload
# (studio/errors.py).
CSRF_FAILURE_VIEW = "studio.errors.csrf_failure"
# With DEBUG on, an Http404 raised by a view shows the site's 404 page instead of Django's technical one
# (a URL that matches no pattern keeps the technical page and its list of patterns).
FRIENDLY_404_IN_DEBUG = env_bool("FRIENDLY_404_IN_DEBUG", True)

ROOT_URLCONF = "site_config.urls"
WSGI_APPLICATION = "site_config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "studio.context_processors.studio",
            ],
            "loaders": [
                (
                    "template_partials.loader.Loader",
                    [
                        (
                            "django.template.loaders.cached.Loader",
                            [
                                "django.template.loaders.filesystem.Loader",
                                "django.template.loaders.app_directories.Loader",
                            ],
                        )
                    ],
                )
            ],
            # Partials are a builtin so the move to Django 6's own partials is a settings change.
            "builtins": ["template_partials.templatetags.partials"],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
_postgres = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if _postgres:
    # Django's backend plus the 65,535-parameter limit of server-side binding, so every delete and bulk
    # statement is batched under it (site_config/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "site_config.postgresql"
if _postgres and env_bool("DATABASE_SERVER_SIDE_BINDING", True):
    # Parameters travel apart from the SQL, so psycopg prepares a statement the fifth time it runs: the
    # worker's claim/finish statements and the gallery's page query skip PostgreSQL's parse and plan.
    # Set DATABASE_SERVER_SIDE_BINDING=0 behind a transaction-mode PgBouncer without prepared statements.
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web server and the task worker share one SQLite file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests use a file, not shared-cache memory: the e2e task worker thread writes while the live server
    # reads, and only a file database honours the busy timeout instead of failing with "table is locked".
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"dali-test-{os.getpid()}.sqlite3")
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "studio:character_list"
LOGOUT_REDIRECT_URL = "home"

# django-allauth: email is the login; verification is a setting ("none", "optional" or "mandatory").
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env_str("ACCOUNT_EMAIL_VERIFICATION", "optional")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
# Counted in the shared cache (CACHES below). "login_failed": per address, and per account and address (the
# key is email|ip, so a stranger cannot lock the owner out); "login_failed_account": per account from any
# address, cleared by a password reset or a successful login (accounts/adapters.py). /admin/login/ counts
# against the same limits.
ACCOUNT_RATE_LIMITS = {
    "login_failed": env_str("LOGIN_RATE_LIMIT", "10/m/ip,5/5m/key"),
    "login_failed_account": env_str("LOGIN_ACCOUNT_RATE_LIMIT", "30/h/key"),
}
# Deleting the account and creating an API token ask for the password again after this many seconds.
ACCOUNT_REAUTHENTICATION_TIMEOUT = env_int("REAUTHENTICATION_TIMEOUT", 300)
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
# Off: nobody can make a new account (the signup page and a first social login say so; the nav and the start
# page stop offering it). Existing accounts log in as before.
ACCOUNT_ALLOW_SIGNUP = env_bool("ACCOUNT_ALLOW_SIGNUP", True)
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"

# Social login: a provider is offered (its button shown) only when its client id and secret are set. No
# SocialApp rows in the database: the apps live here, so a deployment is configured by its environment alone.
GITHUB_CLIENT_ID = env_str("GITHUB_CLIENT_ID")
GITHUB_CLIENT_SECRET = env_str("GITHUB_CLIENT_SECRET")
GOOGLE_CLIENT_ID = env_str("GOOGLE_CLIENT_ID")
GOOGLE_CLIENT_SECRET = env_str("GOOGLE_CLIENT_SECRET")
# Any OpenID Connect provider (Keycloak, Authentik, Auth0, ...): OIDC_SERVER_URL is the issuer URL (its
# /.well-known/openid-configuration is fetched), OIDC_NAME the button's label.
OIDC_CLIENT_ID = env_str("OIDC_CLIENT_ID")
OIDC_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET")
OIDC_SERVER_URL = env_str("OIDC_SERVER_URL")
OIDC_NAME = env_str("OIDC_NAME", "Single sign-on")
# The id in the callback URL to register at the provider: /accounts/oidc/<OIDC_PROVIDER_ID>/login/callback/
OIDC_PROVIDER_ID = env_str("OIDC_PROVIDER_ID", "oidc")


def social_providers(
    *,
    github: tuple[str, str] = ("", ""),
    google: tuple[str, str] = ("", ""),
    oidc: tuple[str, str] = ("", ""),
    oidc_server_url: str = "",
    oidc_name: str = "Single sign-on",
    oidc_provider_id: str = "oidc",
) -> dict[str, dict]:
    """allauth's SOCIALACCOUNT_PROVIDERS for the providers that have a client id and secret."""
    providers: dict[str, dict] = {}
    if all(github):
        providers["github"] = {
            "APPS": [{"client_id": github[0], "secret": github[1]}],
            "SCOPE": ["read:user", "user:email"],
        }
    if all(google):
        providers["google"] = {
            "APPS": [{"client_id": google[0], "secret": google[1]}],
            "SCOPE": ["profile", "email"],
            "AUTH_PARAMS": {"access_type": "online"},
            "OAUTH_PKCE_ENABLED": True,
        }
    if all(oidc) and oidc_server_url:
        providers["openid_connect"] = {
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [
                {
                    "provider_id": oidc_provider_id,
                    "name": oidc_name,
                    "client_id": oidc[0],
                    "secret": oidc[1],
                    "settings": {"server_url": oidc_server_url},
                }
            ],
        }
    return providers


SOCIALACCOUNT_PROVIDERS = social_providers(
    github=(GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET),
    google=(GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET),
    oidc=(OIDC_CLIENT_ID, OIDC_CLIENT_SECRET),
    oidc_server_url=OIDC_SERVER_URL,
    oidc_name=OIDC_NAME,
    oidc_provider_id=OIDC_PROVIDER_ID,
)
SOCIALACCOUNT_REQUESTS_TIMEOUT = env_int("SOCIALACCOUNT_REQUESTS_TIMEOUT", 10)  # seconds, calls to providers
# A social login whose email is taken by another account asks the user to sign in and connect instead of
# merging silently: providers do not all verify email addresses.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_QUERY_EMAIL = True

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Dali Studio <studio@localhost>")

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

LANGUAGE_CODE = "en-gb"
# locale/en: the studio's wording for allauth's pages ("Log in", "Sign up", "Log out"), compiled to django.mo.
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
# Media storage: the local filesystem (a volume in compose.yaml) by default. Several web machines share media
# through S3-compatible object storage (AWS S3, MinIO, Cloudflare R2, ...): `pip install .[s3]` and set
# STORAGE_BACKEND=storages.backends.s3.S3Storage with the AWS_* variables below. Portraits are served through
# the app's owner-checked views, so the bucket stays private.
STORAGE_BACKEND = env_str("STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage")
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL")  # empty for AWS itself
AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME")
AWS_ACCESS_KEY_ID = env_str("AWS_ACCESS_KEY_ID")  # empty: boto3's usual chain (instance role, ~/.aws)
AWS_SECRET_ACCESS_KEY = env_str("AWS_SECRET_ACCESS_KEY")
AWS_LOCATION = env_str("AWS_LOCATION", "media")  # key prefix inside the bucket


def s3_storage_options(
    bucket: str,
    *,
    endpoint_url: str = "",
    region: str = "",
    access_key: str = "",
    secret_key: str = "",
    location: str = "media",
) -> dict[str, object]:
    """django-storages' S3Storage options: a private bucket, files read through signed requests only."""
    return {
        "bucket_name": bucket,
        "endpoint_url": endpoint_url or None,
        "region_name": region or None,
        "access_key": access_key or None,
        "secret_key": secret_key or None,
        "location": location,
        "default_acl": "private",
        "querystring_auth": True,
        "file_overwrite": False,
    }


_default_storage: dict[str, object] = {"BACKEND": STORAGE_BACKEND}
if STORAGE_BACKEND.startswith("storages.backends.s3"):
    if not AWS_STORAGE_BUCKET_NAME:
        raise ImproperlyConfigured("STORAGE_BACKEND is S3: set AWS_STORAGE_BUCKET_NAME.")
    _default_storage["OPTIONS"] = s3_storage_options(
        AWS_STORAGE_BUCKET_NAME,
        endpoint_url=AWS_S3_ENDPOINT_URL,
        region=AWS_S3_REGION_NAME,
        access_key=AWS_ACCESS_KEY_ID,
        secret_key=AWS_SECRET_ACCESS_KEY,
        location=AWS_LOCATION,
    )
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if (DEBUG or TESTING)
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# In development and tests WhiteNoise serves straight from the finders; production uses collectstatic output.
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)

# Background tasks: django-tasks with its database backend (SQLite or PostgreSQL) by default; RQ on Redis
# (pip install ".[rq]", TASK_BACKEND=django_tasks_rq.RQBackend) to scale out. See docs/queue.md.
TASK_BACKEND = env_str("TASK_BACKEND", "django_tasks_db.DatabaseBackend")
TASKS = {"default": {"BACKEND": TASK_BACKEND, "QUEUES": ["default"]}}
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
if TASK_BACKEND.startswith("django_tasks_rq"):
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    # django-rq reads no timeout setting beside a URL, so the connect timeout rides in the URL's query (which
    # redis-py reads): queueing fails in 5 s when Redis is unreachable instead of hanging the web request.
    # No socket_timeout: RQ workers block in BLPOP for minutes on purpose.
    _redis = urlsplit(REDIS_URL)
    _redis_query = dict(parse_qsl(_redis.query))
    _redis_query.setdefault("socket_connect_timeout", "5")
    _rq_url = urlunsplit(_redis._replace(query=urlencode(_redis_query)))
    RQ_QUEUES = {"default": {"URL": _rq_url, "DEFAULT_TIMEOUT": 3600}}

# The cache holds the rate-limit counters (allauth's login limits, studio/throttle.py), so it must be shared
# by every process and replica: Redis when REDIS_URL is set in the environment, else a table in the database
# (created by studio's migration 0014_security, so `migrate` is enough). "local" is a per-process cache for
# values whose key says when they go stale (the gallery's character list): it costs no query.
CACHE_REDIS_URL = env_str("CACHE_REDIS_URL", os.environ.get("REDIS_URL", ""))
if CACHE_REDIS_URL:
    _shared_cache: dict[str, object] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CACHE_REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "dali"),
        "OPTIONS": {"socket_connect_timeout": 5, "socket_timeout": 5},
    }
else:
    # Every write counts the rows and, past MAX_ENTRIES, deletes the expired ones first: counters live a
    # minute or an hour, so 20,000 keeps the live ones (Django's 300 would drop limits under load) and
    # stays quick to count.
    _shared_cache = {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "studio_cache",
        "OPTIONS": {"MAX_ENTRIES": env_int("CACHE_MAX_ENTRIES", 20_000)},
    }
CACHES = {
    "default": _shared_cache,
    "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "dali-local"},
}

# Per-user throttles of the expensive endpoints (studio/throttle.py): requests a minute per user (per address
# when anonymous); 0 switches one off. Past a limit the answer is a 429 with Retry-After and a message.
THROTTLE_RATES = {
    "preview": env_int("THROTTLE_PREVIEW_PER_MINUTE", 240),  # live character preview (typing)
    "pattern": env_int("THROTTLE_PATTERN_PER_MINUTE", 60),  # pattern previews and saves, style-model images
    "frames_render": env_int("THROTTLE_FRAMES_PER_MINUTE", 240),  # depth-frame pages, PNG and JSON renders
    "import": env_int("THROTTLE_IMPORT_PER_MINUTE", 20),  # character, depth-frame and style-image uploads
    "generate": env_int("THROTTLE_GENERATE_PER_MINUTE", 30),  # queueing portraits, retries
}

# Image generation.
DEFAULT_IMAGE_PROVIDER = env_str("DEFAULT_IMAGE_PROVIDER", "local")
PORTRAIT_SIZE = env_int("PORTRAIT_SIZE", 1024)
THUMBNAIL_SIZE = env_int("THUMBNAIL_SIZE", 384)
# Galleries: how many portraits one bulk action (delete, visibility, ZIP download) may touch.
GALLERY_BULK_LIMIT = env_int("GALLERY_BULK_LIMIT", 2000)
# A bulk action posts one `ids` field per selected portrait: Django's default cap of 1000 fields would answer
# a bigger selection with a 400 page before the view could apply (and explain) GALLERY_BULK_LIMIT.
DATA_UPLOAD_MAX_NUMBER_FIELDS = max(1000, GALLERY_BULK_LIMIT + 100)
PROMPT_MAX_LENGTH = env_int("PROMPT_MAX_LENGTH", 4000)
# Image providers: keys come from the environment only; a provider without its key is not offered.
IMAGE_PROVIDERS = env_list("IMAGE_PROVIDERS", "local,openai,stability,huggingface,patterns")
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL", "https://api.openai.com/v1")
# gpt-image-1 was shut down on 2026-10-23 and dall-e-2/3 on 2026-05-12; gpt-image-2 is current.
OPENAI_IMAGE_MODEL = env_str("OPENAI_IMAGE_MODEL", "gpt-image-2")
STABILITY_API_KEY = env_str("STABILITY_API_KEY")
STABILITY_BASE_URL = env_str("STABILITY_BASE_URL", "https://api.stability.ai")
STABILITY_MODEL = env_str("STABILITY_MODEL", "core")  # core, ultra, sd3.5-large, sd3.5-large-turbo, ...
HUGGINGFACE_API_TOKEN = env_str("HUGGINGFACE_API_TOKEN")
HUGGINGFACE_BASE_URL = env_str("HUGGINGFACE_BASE_URL", "https://router.huggingface.co")
HUGGINGFACE_MODEL = env_str("HUGGINGFACE_MODEL", "black-forest-labs/FLUX.1-schnell")
HUGGINGFACE_MAX_LOADING_WAIT = env_float("HUGGINGFACE_MAX_LOADING_WAIT", 60.0)  # seconds per cold-model wait
# The style lab (optional extra "lab": PyTorch): limits on the images a style learns from.
LAB_MAX_UPLOAD_BYTES = env_int("LAB_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
LAB_MAX_IMAGE_PIXELS = env_int("LAB_MAX_IMAGE_PIXELS", 40_000_000)  # refuses decompression bombs
# An uploaded reference image of a character (studio/portraits/references.py).
REFERENCE_MAX_UPLOAD_BYTES = env_int("REFERENCE_MAX_UPLOAD_BYTES", LAB_MAX_UPLOAD_BYTES)
PROVIDER_TIMEOUT = env_float("PROVIDER_TIMEOUT", 120.0)  # seconds, every outbound call
# Per provider, defaulting to PROVIDER_TIMEOUT (seconds to wait for an answer); connecting is capped at 10 s.
OPENAI_TIMEOUT = env_float("OPENAI_TIMEOUT", PROVIDER_TIMEOUT)
STABILITY_TIMEOUT = env_float("STABILITY_TIMEOUT", PROVIDER_TIMEOUT)
HUGGINGFACE_TIMEOUT = env_float("HUGGINGFACE_TIMEOUT", PROVIDER_TIMEOUT)
# Checks run inside a web request (the provider settings page's model list): well under gunicorn's 60 s.
PROVIDER_CHECK_TIMEOUT = env_float("PROVIDER_CHECK_TIMEOUT", 10.0)
PROVIDER_MAX_ATTEMPTS = env_int("PROVIDER_MAX_ATTEMPTS", 3)  # per paid call, retryable errors only

# Jobs each provider may run at once across every worker (e.g. "openai=4,stability=2"); the rest wait in the
# queue. A provider left out has no limit but the number of workers.
PROVIDER_CONCURRENCY = env_limits("PROVIDER_CONCURRENCY")
if _unknown := sorted(set(PROVIDER_CONCURRENCY) - set(IMAGE_PROVIDERS)):
    raise ImproperlyConfigured(
        f"PROVIDER_CONCURRENCY names {', '.join(_unknown)}, not in IMAGE_PROVIDERS "
        f"({', '.join(IMAGE_PROVIDERS)})"
    )
PROVIDER_RETRY_BASE_DELAY = env_float("PROVIDER_RETRY_BASE_DELAY", 1.0)  # seconds, doubled per attempt
# Longest wait before a retry; a longer Retry-After fails the call at once, saying when to try again.
PROVIDER_RETRY_MAX_DELAY = env_float("PROVIDER_RETRY_MAX_DELAY", 30.0)
# A running job's lease: a worker that vanishes longer than this gets its job recovered (re-queued when the
# provider is free, failed as "interrupted" when a paid call may have been billed). The worker renews it
# before every retry; the default still covers a whole job's worst case should a renewal be missed: each
# attempt's connect (10 s, CONNECT_TIMEOUT in providers/base.py) and read timeouts (the longest provider's),
# the longest wait between attempts (the retry cap, or a cold Hugging Face model's loading wait) and a
# minute to store the image. 570 s by default.
PORTRAIT_LEASE_SECONDS = env_int(
    "PORTRAIT_LEASE_SECONDS",
    int(
        PROVIDER_MAX_ATTEMPTS
        * (10 + max(PROVIDER_TIMEOUT, OPENAI_TIMEOUT, STABILITY_TIMEOUT, HUGGINGFACE_TIMEOUT))
        + (PROVIDER_MAX_ATTEMPTS - 1) * max(PROVIDER_RETRY_MAX_DELAY, HUGGINGFACE_MAX_LOADING_WAIT)
        + 60
    ),
)
PORTRAIT_RECOVERY_INTERVAL = env_float("PORTRAIT_RECOVERY_INTERVAL", 30.0)  # seconds between lease sweeps
# Cost control, per user per day (the server's TIME_ZONE); 0 switches a limit off.
DAILY_IMAGE_LIMIT = env_int("DAILY_IMAGE_LIMIT", 200)
DAILY_SPEND_LIMIT_USD = env_str("DAILY_SPEND_LIMIT_USD", "10.00")
try:
    DAILY_SPEND_LIMIT_USD = str(Decimal(DAILY_SPEND_LIMIT_USD))
except InvalidOperation:
    raise ImproperlyConfigured(
        f"DAILY_SPEND_LIMIT_USD must be a number, got {DAILY_SPEND_LIMIT_USD!r}"
    ) from None
# On top of the per-user limits: the estimated spend of all users together per day (USD; 0 switches it off).
STUDIO_DAILY_SPEND_LIMIT = env_str("STUDIO_DAILY_SPEND_LIMIT", "50.00")
try:
    STUDIO_DAILY_SPEND_LIMIT = str(Decimal(STUDIO_DAILY_SPEND_LIMIT))
except InvalidOperation:
    raise ImproperlyConfigured(
        f"STUDIO_DAILY_SPEND_LIMIT must be a number, got {STUDIO_DAILY_SPEND_LIMIT!r}"
    ) from None
BATCH_MAX_IMAGES = env_int("BATCH_MAX_IMAGES", 10)  # variations per click
QUICK_MAX_PROMPTS = env_int("QUICK_MAX_PROMPTS", 20)  # rows on the quick-generate page
# Optional: {(provider, model, quality) or (provider, model, quality, size): USD per image}, merged over
# studio.portraits.providers.pricing.DEFAULT_IMAGE_PRICES. Not environment-driven; edit here when prices
# change.
IMAGE_PRICES: dict[tuple[str, ...], str] = {}

# Content-Security-Policy (django-csp 4): scripts only from this site's static files, never inline or eval'd
# (behaviour lives in static/*.js; htmx runs with allowEval off, see base.html). Styles: stylesheets only
# from this site, and no <style> elements (htmx's indicator rules are in app.css); style *attributes* stay
# allowed ('unsafe-inline' in style-src-attr) for values computed per page (progress widths, chart heights),
# which cannot run script. Images may be data: URLs (the style lab's interpolation frames). No form-action:
# social sign-in posts to this site and is redirected to the provider, which form-action would block.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-elem": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Browser features no page uses (studio/middleware.py).
PERMISSIONS_POLICY = env_str(
    "PERMISSIONS_POLICY",
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), "
    "usb=()",
)
# Behind a TLS-terminating proxy: the header (e.g. X-Forwarded-Proto) that says a request came in over HTTPS.
# Set it only when that proxy overwrites the header on every request (compose's Caddy, ingress-nginx), and
# only on a server that the proxy alone can reach: anyone else could claim HTTPS by sending it.
_proxy_ssl_header = env_str("SECURE_PROXY_SSL_HEADER").strip()
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
# Orchestrators probe over plain HTTP, straight to the process: the health checks answer there too.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# Production hardening: on whenever DEBUG is off.
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not TESTING)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not TESTING)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not TESTING)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if TESTING else 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"

# Logging (studio/logging.py): event lines with fields and the request id; LOG_FORMAT=json for one JSON object
# per line. Values of secret-named settings are scrubbed from every formatted line.
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "studio.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"()": "studio.logging.PlainFormatter"},
        "json": {"()": "studio.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Character import and export (studio/imports.py, studio/cards.py, studio/views/imports.py).
CHARACTER_IMPORT_MAX_BYTES = env_int("CHARACTER_IMPORT_MAX_BYTES", 20 * 1024 * 1024)
CHARACTER_IMPORT_MAX_COLUMNS = env_int("CHARACTER_IMPORT_MAX_COLUMNS", 200)
CHARACTER_IMPORT_MAX_ROWS = env_int("CHARACTER_IMPORT_MAX_ROWS", 100_000)
CHARACTER_IMPORT_PREVIEW_ROWS = env_int("CHARACTER_IMPORT_PREVIEW_ROWS", 1000)  # rows kept by preview()
# CSV files with more rows than this are committed by the background task (the page shows a progress bar).
CHARACTER_IMPORT_BACKGROUND_ROWS = env_int("CHARACTER_IMPORT_BACKGROUND_ROWS", 2000)
CHARACTER_CARD_MAX_BYTES = env_int("CHARACTER_CARD_MAX_BYTES", 20 * 1024 * 1024)
# The JSON text of one card (a PNG's text chunk, inflated, or a CHARX's card.json).
CHARACTER_CARD_MAX_TEXT_BYTES = env_int("CHARACTER_CARD_MAX_TEXT_BYTES", 8 * 1024 * 1024)
# CHARX (zip) cards (studio/imports/cards.py): the upload, each file and all files inflated, files.
CHARACTER_CHARX_MAX_BYTES = env_int("CHARACTER_CHARX_MAX_BYTES", 50 * 1024 * 1024)
CHARACTER_CHARX_MAX_ASSET_BYTES = env_int("CHARACTER_CHARX_MAX_ASSET_BYTES", 20 * 1024 * 1024)
CHARACTER_CHARX_MAX_TOTAL_BYTES = env_int("CHARACTER_CHARX_MAX_TOTAL_BYTES", 200 * 1024 * 1024)
CHARACTER_CHARX_MAX_ENTRIES = env_int("CHARACTER_CHARX_MAX_ENTRIES", 1000)
# A card's images imported as portraits (studio/imports/card_portraits.py): how many per import, and the
# pixels one may have (checked from its header, before decoding).
CHARACTER_CHARX_MAX_PORTRAITS = env_int("CHARACTER_CHARX_MAX_PORTRAITS", 100)
CHARACTER_CARD_MAX_IMAGE_PIXELS = env_int("CHARACTER_CARD_MAX_IMAGE_PIXELS", 4096 * 4096)
# Health checks: /readyz fails when queued tasks have waited longer than this with no task started meanwhile.
READY_WORKER_MAX_AGE = env_int("READY_WORKER_MAX_AGE", 120)  # seconds
# /readyz tells everyone only ok/unavailable; its checks go to staff and to `Authorization: Bearer <token>`.
READY_TOKEN = env_str("READY_TOKEN")

# Depth frames (studio/frames/): pixel CSV ingest and colormapped retrieval.
FRAMES_TARGET_WIDTH = env_int("FRAMES_TARGET_WIDTH", 150)
FRAMES_MAX_WIDTH = env_int("FRAMES_MAX_WIDTH", 4096)
FRAMES_MAX_UPLOAD_BYTES = env_int("FRAMES_MAX_UPLOAD_BYTES", 50 * 1024 * 1024)
# The most one request may send (413 before anything reads it): the largest upload plus room for the form.
MAX_REQUEST_BYTES = env_int(
    "MAX_REQUEST_BYTES",
    max(
        FRAMES_MAX_UPLOAD_BYTES,
        CHARACTER_IMPORT_MAX_BYTES,
        CHARACTER_CARD_MAX_BYTES,
        CHARACTER_CHARX_MAX_BYTES,
        REFERENCE_MAX_UPLOAD_BYTES,
        4 * LAB_MAX_UPLOAD_BYTES,
    )
    + 1024 * 1024,
)
FRAMES_MAX_RANGE_ROWS = env_int("FRAMES_MAX_RANGE_ROWS", 2000)
# Stored pixels per dataset (rows x target width), refused before parsing: a small file widened to 4096
# pixels would otherwise become hundreds of MB.
FRAMES_MAX_CELLS = env_int("FRAMES_MAX_CELLS", 32_000_000)
