"""The deploy files: compose.yaml (safe by default, a `scale` profile) and the Kubernetes manifests."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from django.test import override_settings
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
MANIFESTS = sorted(path for path in K8S.glob("*.yaml") if path.name != "kustomization.yaml")


def settings_variables() -> set[str]:
    """The environment variables site_config/settings.py reads."""
    source = (ROOT / "site_config" / "settings.py").read_text()
    return set(
        re.findall(r'(?:env_(?:str|bool|int|float|list)|os\.environ\.get)\(\s*"([A-Z][A-Z0-9_]*)"', source)
    )


def resources() -> list[tuple[str, dict]]:
    return [(path.name, doc) for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def pod_specs() -> list[tuple[str, dict]]:
    return [
        (f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"])
        for _name, doc in resources()
        if doc["kind"] in {"Deployment", "Job"}
    ]


def app_services() -> dict[str, dict]:
    """The compose services that run the studio's image (and read its settings)."""
    return {
        name: service for name, service in SERVICES.items() if service.get("image") == "dali-studio:latest"
    }


def env_example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines() if "=" in line)
    return {key.strip(): value for key, value in pairs if not key.startswith("#")}


# --- compose.yaml


def test_it_publishes_only_the_buffering_proxy():
    published = {name for name, service in SERVICES.items() if service.get("ports")}
    assert published == {"proxy", "adminer"}
    assert SERVICES["proxy"]["image"].split(":")[0] in {"caddy", "nginx"}  # official images
    assert "8000" in SERVICES["web"]["expose"] and "ports" not in SERVICES["web"]
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in SERVICES["proxy"]["volumes"]
    assert re.search(r"reverse_proxy \{\s+(#[^\n]*\s+)*dynamic a web 8000 ", caddyfile)
    assert re.search(r"\n\t\trequest_buffers 64MiB\n", caddyfile)
    assert "trusted_proxies" not in caddyfile  # Caddy then overwrites the client's X-Forwarded-Proto


def test_it_has_no_default_database_password():
    text = (ROOT / "compose.yaml").read_text()
    uses = re.findall(r"\$\{POSTGRES_PASSWORD([^}]*)\}", text)
    assert uses and all(use.startswith(":?") for use in uses), uses
    assert env_example()["POSTGRES_PASSWORD"] == ""
    assert "dali@db" not in text and ":dali@" not in text


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="docker compose is not installed",
)
def test_it_refuses_to_start_compose_without_a_database_password(tmp_path):
    (tmp_path / ".env").write_text("")
    env = {key: value for key, value in os.environ.items() if key != "POSTGRES_PASSWORD"}
    args = ["docker", "compose", "-f", str(ROOT / "compose.yaml"), "--project-directory", str(tmp_path)]
    refused = subprocess.run([*args, "config", "-q"], capture_output=True, text=True, env=env)
    assert refused.returncode != 0 and "set POSTGRES_PASSWORD" in refused.stderr
    env["POSTGRES_PASSWORD"] = "a-long-random-password"
    assert subprocess.run([*args, "config", "-q"], capture_output=True, env=env).returncode == 0


def test_it_offers_adminer_only_in_an_opt_in_profile_on_loopback():
    adminer = SERVICES["adminer"]
    assert adminer["profiles"] == ["admin"]
    assert all(port.startswith("127.0.0.1:") for port in adminer["ports"])


def test_it_trusts_the_forwarded_proto_header_only_on_web_behind_the_proxy():
    setters = [
        name
        for name, service in app_services().items()
        if "SECURE_PROXY_SSL_HEADER" in service["environment"]
    ]
    assert setters == ["web"]
    assert "SECURE_PROXY_SSL_HEADER" not in env_example()


def test_it_scales_out_with_redis_rq_workers_and_s3_in_the_scale_profile():
    scale = {name for name, service in SERVICES.items() if "scale" in service.get("profiles", [])}
    assert {"redis", "rq-worker", "s3"} <= scale
    command = SERVICES["rq-worker"]["command"]
    assert "rqworker default" in command and "--job-class django_tasks_rq.Job" in command
    assert SERVICES["rq-worker"]["deploy"]["replicas"] == "${RQ_WORKERS:-2}"
    documented = (ROOT / ".env.example").read_text()
    for line in (
        "TASK_BACKEND=django_tasks_rq.RQBackend",
        "REDIS_URL=redis://redis:6379/0",
        "STORAGE_BACKEND=storages.backends.s3.S3Storage",
        "AWS_S3_ENDPOINT_URL=http://s3:9000",
    ):
        assert f"# {line}" in documented


def test_it_sets_only_variables_that_settings_reads_in_compose():
    known = settings_variables()
    for name, service in app_services().items():
        assert set(service.get("environment", {})) <= known, name
    assert set(env_example()) <= known | {"POSTGRES_PASSWORD", "SITE_ADDRESS"}


# --- settings behind a proxy


def proxy_header_setting(**env: str) -> object:
    clean = {key: value for key, value in os.environ.items() if key != "SECURE_PROXY_SSL_HEADER"}
    script = "import django, json; django.setup(); from django.conf import settings; "
    script += "print(json.dumps(settings.SECURE_PROXY_SSL_HEADER))"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "site_config.settings",
            "DEBUG": "0",
            "SECRET_KEY": "x" * 60,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_it_trusts_a_forwarded_proto_header_only_when_configured():
    assert proxy_header_setting() is None
    assert proxy_header_setting(SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto") == [
        "HTTP_X_FORWARDED_PROTO",
        "https",
    ]


@override_settings(SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=None)
def test_it_redirects_to_https_even_when_a_client_claims_it_came_over_https(client):
    response = client.get(reverse("home"), HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


@override_settings(SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_it_trusts_the_configured_proxy_header(client):
    assert client.get(reverse("healthz"), HTTP_X_FORWARDED_PROTO="https").status_code == 200
    assert client.get(reverse("home"), HTTP_X_FORWARDED_PROTO="http").status_code == 301


@override_settings(SECURE_SSL_REDIRECT=True)
@pytest.mark.django_db
def test_it_answers_health_probes_over_plain_http(client):
    assert client.get(reverse("healthz")).status_code == 200
    assert client.get(reverse("readyz")).status_code in {200, 503}


# --- Kubernetes


def test_it_lists_every_manifest_in_the_kustomization():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == [path.name for path in MANIFESTS]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: path.name)
def test_it_validates_the_manifest_against_the_kubernetes_schemas(path):
    docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_it_ships_every_part_of_a_deployment():
    kinds = {(doc["kind"], doc["metadata"]["name"]) for _name, doc in resources()}
    assert {
        ("Deployment", "dali-web"),
        ("Deployment", "dali-worker"),
        ("HorizontalPodAutoscaler", "dali-web"),
        ("Job", "dali-migrate"),
        ("Service", "dali-web"),
        ("Ingress", "dali-web"),
        ("ConfigMap", "dali-config"),
        ("Secret", "dali-database"),
        ("Secret", "dali-redis"),
        ("Secret", "dali-s3"),
        ("Secret", "dali-keys"),
    } <= kinds
    [hpa] = [doc for _name, doc in resources() if doc["kind"] == "HorizontalPodAutoscaler"]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "dali-web",
    }


def test_it_runs_no_container_as_root_or_privileged():
    for name, spec in pod_specs():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] != 0, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context.get("privileged", False) is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"], name
    assert "USER 10001:10001" in (ROOT / "Dockerfile").read_text()  # the uid the manifests run as


def test_it_probes_web_on_healthz_and_readyz_with_an_allowed_host():
    [spec] = [spec for name, spec in pod_specs() if name == "Deployment/dali-web"]
    [container] = spec["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    [config] = [doc for _name, doc in resources() if doc["kind"] == "ConfigMap"]
    allowed = config["data"]["ALLOWED_HOSTS"].split(",")
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        [header] = container[probe]["httpGet"]["httpHeaders"]
        assert header == {"name": "Host", "value": allowed[0]}


def test_it_sets_only_variables_that_settings_reads_in_kubernetes():
    known = settings_variables()
    set_here: set[str] = set()
    for _name, doc in resources():
        if doc["kind"] == "ConfigMap":
            set_here |= set(doc["data"])
        elif doc["kind"] == "Secret":
            set_here |= set(doc.get("stringData", {})) | set(doc.get("data", {}))
    for _name, spec in pod_specs():
        for container in spec["containers"]:
            set_here |= {item["name"] for item in container.get("env", [])}
            for source in container["envFrom"]:
                reference = source.get("configMapRef") or source.get("secretRef")
                assert any(doc["metadata"]["name"] == reference["name"] for _n, doc in resources())
    assert set_here and set_here <= known, set_here - known


def test_it_ships_placeholders_only_in_the_secrets():
    for _name, doc in resources():
        if doc["kind"] == "Secret":
            for key, value in doc["stringData"].items():
                assert value == "" or "REPLACE-ME" in value, key
