"""The deployment files, checked offline: docker-compose.yml against the Compose
specification's JSON schema (tests/schemas/compose-spec.json, as shipped in the docker-compose
1.29.2 package on PyPI) and by `docker compose config` (or `docker-compose config`) where one is installed; the
Kubernetes manifests against the Kubernetes schemas of kubernetes-validate, and the KEDA
ScaledObject (a custom resource no package ships a schema for) by a check of its fields
against KEDA's documented ScaledObject and redis trigger."""

import json
import os
import shutil
import subprocess

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.support.env import ROOT

COMPOSE = os.path.join(ROOT, "docker-compose.yml")
K8S = os.path.join(ROOT, "deploy", "kubernetes")
KUBERNETES_VERSION = "1.30.0"
APP_SERVICES = ("migrate", "web", "worker", "scheduler")


@pytest.fixture(scope="module")
def compose():
    with open(COMPOSE) as f:
        return yaml.safe_load(f)


def test_the_compose_file_is_valid_against_the_compose_schema(compose):
    with open(os.path.join(ROOT, "tests", "schemas", "compose-spec.json")) as f:
        schema = json.load(f)
    jsonschema.Draft201909Validator.check_schema(schema)  # its $schema names draft 2019-09 (by http://)
    validator = jsonschema.Draft201909Validator(schema)
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []
    web = {**compose["services"]["web"], "healthcheck": {"test": 1}}
    broken = {**compose, "services": {**compose["services"], "web": web}}
    assert list(validator.iter_errors(broken)), "the schema check can fail"


def compose_command():
    """`docker compose` (the plugin) or `docker-compose` (the standalone one), or None."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


@pytest.mark.skipif(compose_command() is None, reason="neither docker compose nor docker-compose is installed")
def test_docker_compose_accepts_the_file_and_requires_a_secret_key():
    """`config` parses, interpolates and checks the file without a Docker daemon."""
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    result = subprocess.run(
        compose_command() + ["-f", COMPOSE, "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**env, "SECRET_KEY": "k" * 40},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)["services"]
    assert resolved["worker"]["environment"]["SECRET_KEY"] == "k" * 40
    assert resolved["worker"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    missing = subprocess.run(
        compose_command() + ["-f", COMPOSE, "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert missing.returncode != 0 and "set SECRET_KEY" in missing.stderr


def test_the_compose_topology(compose):
    services = compose["services"]
    assert set(services) == {*APP_SERVICES, "postgres", "redis"}
    for name in APP_SERVICES:
        assert services[name]["build"] == "." and services[name]["image"] == "callbatch:latest"
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"] == "redis://redis:6379/0" and env["SECRET_KEY"].startswith("${SECRET_KEY:?")
    for name in ("web", "worker", "scheduler"):
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }
    assert services["migrate"]["command"] == ["flask", "db", "upgrade"] and services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}

    with open(os.path.join(ROOT, "Procfile")) as f:
        procfile = dict(line.split(": ", 1) for line in f.read().splitlines() if line)
    assert services["worker"]["command"] == procfile["worker"].split()
    assert services["scheduler"]["command"] == procfile["scheduler"].split()
    assert "wsgi:app" in services["web"]["command"]

    worker = services["worker"]
    assert "ports" not in worker and "container_name" not in worker  # so --scale worker=N works
    assert not any("container_name" in s for s in services.values())

    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["web"]["healthcheck"]["test"][:2] == ["CMD", "python"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]

    named = set(compose["volumes"])
    assert {"pgdata", "redisdata", "instance"} <= named
    mounted = {v.split(":")[0] for s in services.values() for v in s.get("volumes", [])}
    assert mounted == named
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "redisdata:/data" in services["redis"]["volumes"]


def manifests():
    documents = []
    for name in sorted(os.listdir(K8S)):
        if name.endswith(".yaml") and name != "kustomization.yaml":
            with open(os.path.join(K8S, name)) as f:
                documents += [(name, d) for d in yaml.safe_load_all(f) if d]
    return documents


def by_kind(kind):
    return {d["metadata"]["name"]: d for _, d in manifests() if d["kind"] == kind}


def test_every_kubernetes_manifest_is_valid_against_the_kubernetes_schemas():
    checked = 0
    for _name, document in manifests():
        if document["apiVersion"].startswith("keda.sh/"):
            continue
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        checked += 1
    assert checked == 7
    pdb = by_kind("PodDisruptionBudget")["callbatch-worker"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(
            {**pdb, "spec": {**pdb["spec"], "maxUnavailabel": 1}}, KUBERNETES_VERSION, strict=True
        )


def test_the_kustomization_lists_every_manifest_and_renders():
    with open(os.path.join(K8S, "kustomization.yaml")) as f:
        kustomization = yaml.safe_load(f)
    assert sorted(kustomization["resources"]) == sorted({name for name, _ in manifests()})
    if not shutil.which("kubectl"):
        pytest.skip("kubectl is not installed")
    rendered = subprocess.run(["kubectl", "kustomize", K8S], capture_output=True, text=True, timeout=60)
    assert rendered.returncode == 0, rendered.stderr
    kinds = sorted(d["kind"] for d in yaml.safe_load_all(rendered.stdout))
    assert kinds == sorted(d["kind"] for _, d in manifests())


def test_the_kubernetes_topology():
    deployments = by_kind("Deployment")
    assert set(deployments) == {"callbatch-web", "callbatch-worker", "callbatch-scheduler"}
    config = by_kind("ConfigMap")["callbatch-config"]
    for deployment in deployments.values():
        spec = deployment["spec"]
        pod = spec["template"]
        assert spec["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
        (container,) = pod["spec"]["containers"]
        assert container["envFrom"] == [
            {"configMapRef": {"name": "callbatch-config"}},
            {"secretRef": {"name": "callbatch-secrets"}},
        ]
    scheduler = deployments["callbatch-scheduler"]["spec"]
    assert scheduler["replicas"] == 1 and scheduler["strategy"] == {"type": "Recreate"}
    worker = deployments["callbatch-worker"]["spec"]["template"]["spec"]["containers"][0]
    assert worker["command"] == ["flask", "worker"]

    (web,) = deployments["callbatch-web"]["spec"]["template"]["spec"]["containers"]
    assert web["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert web["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert {"name": "http", "containerPort": 8000} in web["ports"]
    service = by_kind("Service")["callbatch-web"]
    labels = deployments["callbatch-web"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()

    (job,) = by_kind("Job").values()
    (migrate,) = job["spec"]["template"]["spec"]["containers"]
    assert migrate["command"] == ["flask", "db", "upgrade"] and migrate["envFrom"] == web["envFrom"]

    pdb = by_kind("PodDisruptionBudget")["callbatch-worker"]
    worker_labels = deployments["callbatch-worker"]["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= worker_labels.items()
    assert pdb["spec"]["maxUnavailable"] == 1
    assert config["data"]["REDIS_URL"] == f"redis://{config['data']['REDIS_ADDRESS']}/0"


# KEDA v2's ScaledObject spec and its redis (list) trigger's metadata.
SCALED_OBJECT_SPEC = {
    "scaleTargetRef",
    "pollingInterval",
    "cooldownPeriod",
    "initialCooldownPeriod",
    "idleReplicaCount",
    "minReplicaCount",
    "maxReplicaCount",
    "fallback",
    "advanced",
    "triggers",
}
REDIS_TRIGGER = {
    "address",
    "addressFromEnv",
    "host",
    "hostFromEnv",
    "port",
    "portFromEnv",
    "username",
    "usernameFromEnv",
    "passwordFromEnv",
    "listName",
    "listLength",
    "activationListLength",
    "databaseIndex",
    "enableTLS",
    "unsafeSsl",
}


def test_the_keda_scaled_object_scales_the_workers_on_the_files_queue(app):
    from webapp import queues

    (scaled,) = by_kind("ScaledObject").values()
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    spec = scaled["spec"]
    assert set(spec) <= SCALED_OBJECT_SPEC
    assert spec["scaleTargetRef"] == {"name": "callbatch-worker"}  # kind defaults to Deployment
    assert "callbatch-worker" in by_kind("Deployment")
    assert 1 <= spec["minReplicaCount"] < spec["maxReplicaCount"]
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "redis"
    metadata = trigger["metadata"]
    assert set(metadata) <= REDIS_TRIGGER and all(isinstance(v, str) for v in metadata.values())
    assert int(metadata["listLength"]) > 0

    config = by_kind("ConfigMap")["callbatch-config"]["data"]
    assert metadata["addressFromEnv"] in config  # read from the worker container's env
    assert metadata["databaseIndex"] == config["REDIS_URL"].rsplit("/", 1)[1]
    saved = app.config["QUEUE_PREFIX"]
    app.config["QUEUE_PREFIX"] = config["CALLBATCH_QUEUE_PREFIX"]
    try:
        with app.app_context():
            assert metadata["listName"] == queues.queue(queues.FILES).key == "rq:queue:callbatch-files"
    finally:
        app.config["QUEUE_PREFIX"] = saved
