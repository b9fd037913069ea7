"""The deployment files (docker-compose.yml, deploy/k8s/*.yaml) start the topology of
production mode (bot/production.py): the same processes, the same settings, the same
nginx configuration, with health and readiness checks. Parsed with PyYAML; no image is
built or pulled."""
from __future__ import annotations

import re

import pytest
import yaml

from bot.config import PROJECT_ROOT
from bot.production import (
    CONTAINER_PORTS, PROCESSES, SETTING_NAMES, SETTINGS, cluster_nginx_conf, compose_nginx_conf,
)

K8S = PROJECT_ROOT / "deploy" / "k8s"
OURS = {"migrate", "actions", "rasa-1", "rasa-2", "web", "nginx"}
HEALTH = {"actions": "/health", "rasa": "/", "web": "/healthz", "nginx": "/nginx-health"}


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def k8s():
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    return docs


def kind_of(command) -> str:
    """The process a container runs: the Dockerfile's entry point is `python -m bot.production run`."""
    assert isinstance(command, list) and len(command) == 1, command
    return command[0]


def test_compose_runs_each_process_of_production_mode_with_every_setting(compose):
    services = compose["services"]
    assert OURS <= set(services)
    kinds = {name: kind_of(services[name]["command"]) for name in OURS}
    assert set(kinds.values()) == set(PROCESSES)
    assert kinds["rasa-1"] == kinds["rasa-2"] == "rasa"
    for name in OURS:
        env = services[name]["environment"]
        assert set(env) == set(SETTING_NAMES), name
        assert env["MINZHENG_PRODUCTION"] == "1"
        # no secret has a default: compose refuses to start without it (${VAR:?...})
        for secret in ("RASA_TOKEN", "MINZHENG_ACTION_SECRET", "MINZHENG_CLIENT_SECRET"):
            assert re.fullmatch(r"\$\{" + secret + r":\?[^}]+\}", env[secret]), secret
        assert env["MINZHENG_DB_URL"].startswith("postgresql://")
        assert env["MINZHENG_REDIS_URL"].startswith("redis://")
    assert services["web"]["deploy"]["replicas"] == int(services["web"]["environment"]["MINZHENG_WEB_REPLICAS"])
    assert services["actions"]["deploy"]["replicas"] == int(
        services["actions"]["environment"]["MINZHENG_ACTION_REPLICAS"])
    rasa = [n for n in services if kind_of(services[n].get("command", ["-"])) == "rasa"]
    assert len(rasa) == int(services["web"]["environment"]["MINZHENG_RASA_REPLICAS"])


def test_compose_checks_health_and_runs_migrate_once_before_the_replicas(compose):
    services = compose["services"]
    for name in OURS - {"migrate"}:
        test = " ".join(services[name]["healthcheck"]["test"])
        kind = kind_of(services[name]["command"])
        assert f"{CONTAINER_PORTS[kind]}{HEALTH[kind]}'" in test, (name, test)
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["restart"] == "no"
    assert "migrate" not in services["migrate"].get("depends_on", {})


def test_compose_nginx_conf_is_the_generated_one(compose):
    conf = (PROJECT_ROOT / "deploy" / "compose" / "nginx.conf").read_text(encoding="utf-8")
    rasa = [n for n in compose["services"] if n.startswith("rasa-")]
    assert conf == compose_nginx_conf(len(rasa))
    for name in rasa:
        assert f"server {name}:5005" in conf
    assert "./deploy/compose/nginx.conf:/etc/minzheng/nginx.conf:ro" in compose["services"]["nginx"]["volumes"]


def _workloads(docs):
    return {d["metadata"]["name"]: d for d in docs if d["kind"] in ("Deployment", "StatefulSet", "Job")}


def test_k8s_runs_each_process_with_every_setting_from_one_config(k8s):
    workloads = _workloads(k8s)
    assert set(workloads) == {"minzheng-migrate", "actions", "rasa", "web", "nginx"}
    kinds = set()
    for w in workloads.values():
        (container,) = w["spec"]["template"]["spec"]["containers"]
        kinds.add(kind_of(container["args"]))
        refs = {next(iter(r.values()))["name"] for r in container["envFrom"]}
        assert refs == {"minzheng-config", "minzheng-secrets"}
        assert w["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    assert kinds == set(PROCESSES)
    config = next(d for d in k8s if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "minzheng-config")
    secret = next(d for d in k8s if d["kind"] == "Secret")
    assert set(config["data"]) | set(secret["stringData"]) == set(SETTING_NAMES)
    assert not set(config["data"]) & set(secret["stringData"])
    required = {name for name, req, *_ in SETTINGS if req}
    assert required <= set(secret["stringData"])  # secrets and URLs with passwords
    # the placeholders cannot start: production mode refuses secrets under 16 characters
    assert all(len(secret["stringData"][s]) < 16 for s in ("RASA_TOKEN", "MINZHENG_ACTION_SECRET",
                                                           "MINZHENG_CLIENT_SECRET"))
    assert workloads["rasa"]["spec"]["replicas"] == int(config["data"]["MINZHENG_RASA_REPLICAS"])
    assert workloads["web"]["spec"]["replicas"] == int(config["data"]["MINZHENG_WEB_REPLICAS"])
    assert workloads["actions"]["spec"]["replicas"] == int(config["data"]["MINZHENG_ACTION_REPLICAS"])


def test_k8s_probes_use_the_health_endpoints(k8s):
    for name, w in _workloads(k8s).items():
        if name == "minzheng-migrate":
            continue
        (container,) = w["spec"]["template"]["spec"]["containers"]
        kind = kind_of(container["args"])
        probe = container["readinessProbe"]["httpGet"]
        assert (probe["path"], probe["port"]) == (HEALTH[kind], CONTAINER_PORTS[kind]), name
        assert "livenessProbe" in container


def test_k8s_nginx_hashes_rasa_over_one_stable_service_per_pod(k8s):
    conf = next(d for d in k8s if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "minzheng-nginx")
    replicas = _workloads(k8s)["rasa"]["spec"]["replicas"]
    assert conf["data"]["nginx.conf"] == cluster_nginx_conf(replicas)
    services = {d["metadata"]["name"]: d for d in k8s if d["kind"] == "Service"}
    for i in range(replicas):
        assert services[f"rasa-{i}"]["spec"]["selector"] == {"statefulset.kubernetes.io/pod-name": f"rasa-{i}"}
    assert {"web", "actions", "nginx", "rasa"} <= set(services)


def test_the_dockerfile_runs_the_processes_of_production_mode():
    text = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["python", "-m", "bot.production", "run"]' in text
    assert "apt-get install" in text and " nginx" in text
    assert re.search(r"^USER minzheng$", text, re.M)
