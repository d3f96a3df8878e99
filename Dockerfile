# syntax=docker/dockerfile:1
# Multi-stage: build wheels in one stage, run as a non-root user in a slim one.
FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml ./
RUN python -m venv /venv && /venv/bin/pip install --upgrade pip
RUN python - <<'PY' > /tmp/requirements.txt
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))
PY
RUN /venv/bin/pip install -r /tmp/requirements.txt

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH="/venv/bin:$PATH" \
    DJANGO_SETTINGS_MODULE=site_config.settings MEDIA_ROOT=/data/media
RUN groupadd --system dali && useradd --system --gid dali --home /app dali \
 && mkdir -p /app /data/media && chown -R dali:dali /data
COPY --from=build /venv /venv
WORKDIR /app
COPY --chown=dali:dali . .
# Static files are collected at build time (hashed, compressed names served by WhiteNoise).
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput
USER dali
EXPOSE 8000
CMD ["gunicorn", "site_config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60", "--access-logfile", "-"]
