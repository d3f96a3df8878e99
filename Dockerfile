# syntax=docker/dockerfile:1
# Multi-stage: build wheels in one stage, run as a non-root user in a slim one.
# `docker build --build-arg EXTRAS=s3 .` adds django-storages for S3-compatible media storage.
# `docker build --build-arg WITH_LAB=1 .` adds the art lab's style models (PyTorch, the `lab` extra): the
# pinned torch comes first from PyTorch's CPU wheel index (a few hundred MB; PyPI's build pulls several GB of
# CUDA packages), then the extra's requirements, which it already satisfies. For a CUDA image, point
# TORCH_INDEX_URL at a CUDA wheel index (e.g. https://download.pytorch.org/whl/cu128).
FROM python:3.11-slim AS build
ARG EXTRAS=""
ARG WITH_LAB=0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml ./
RUN python -m venv /venv && /venv/bin/pip install --upgrade pip
RUN if [ "$WITH_LAB" = "1" ]; then /venv/bin/pip install --index-url "$TORCH_INDEX_URL" "torch==2.13.0"; fi
RUN EXTRAS="$EXTRAS$( [ "$WITH_LAB" = "1" ] && echo ,lab )" python - <<'PY' > /tmp/requirements.txt
import os, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
requirements = list(project["dependencies"])
for extra in filter(None, os.environ["EXTRAS"].split(",")):
    requirements += project["optional-dependencies"][extra.strip()]
print("\n".join(requirements))
PY
RUN /venv/bin/pip install -r /tmp/requirements.txt

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH="/venv/bin:$PATH" \
    DJANGO_SETTINGS_MODULE=site_config.settings MEDIA_ROOT=/data/media WEB_CONCURRENCY=3
RUN groupadd --system --gid 10001 dali && useradd --system --uid 10001 --gid dali --home /app dali \
 && mkdir -p /app /data/media && chown -R dali:dali /data
COPY --from=build /venv /venv
WORKDIR /app
COPY --chown=dali:dali . .
# Static files are collected at build time (hashed, compressed names served by WhiteNoise).
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput
# Numeric, so Kubernetes can check runAsNonRoot (deploy/k8s runs as 10001 with a read-only root).
USER 10001:10001
EXPOSE 8000
# The process answers /healthz without touching the database (see studio/views/health.py).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "deploy/healthcheck.py"]
# gunicorn reads WEB_CONCURRENCY for its worker count; the access log carries the request id.
CMD ["gunicorn", "site_config.wsgi:application", "--bind", "0.0.0.0:8000", "--timeout", "60", \
     "--access-logfile", "-", "--access-logformat", "%(h)s \"%(r)s\" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s"]
