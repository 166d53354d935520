"""deploy/: every file parses, and nothing in it drifts from the code.

Settings keys and environment variables must exist in the shipped settings, every command a
container runs must exist with the options it passes, plugin names must be known, secrets must be
provided, and the pieces must point at each other (ports, hosts, selectors, volumes).
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer.core
import typer.main
import yaml

from kernel.catalog import BUILTIN_PLUGINS
from kernel.settings import load_settings
from kernel.settingspec import collect_declarations
from plugins.cli.main import build_app

from .deployfiles import (
    BATCHKERNEL_NAME,
    COMPOSE,
    DEPLOY,
    DOCS,
    K8S,
    OTEL_VARIABLES,
    PROBE,
    PROBE_IN_IMAGE,
    ROOT,
    SETTINGS_IN_IMAGE,
    SPECIAL_BATCHKERNEL_VARIABLES,
    Container,
    compose,
    compose_containers,
    dockerfile_instruction,
    image_entrypoint,
    image_healthcheck,
    k8s_containers,
    k8s_documents,
    load_documents,
    lowercase_tree,
    setting_exists,
    toml_leaf_paths,
    yaml_files,
)

app = build_app([])

CONTAINERS = [*compose_containers(), *k8s_containers()]
ENVIRONMENTS = ("default", "development", "production")
LEGACY_FLAGS = {item.setting.flag_env for item in collect_declarations(third_party=False)} - {""}
OTHER_VARIABLES = {"OPENAI_API_KEY", *LEGACY_FLAGS, *OTEL_VARIABLES}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No settings from the test's own environment or working directory."""
    import os

    for name in list(os.environ):
        if name.startswith(("BATCHKERNEL_", "OTEL_")) or name in OTHER_VARIABLES:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


@pytest.fixture
def defaults(clean_env: pytest.MonkeyPatch) -> dict[str, dict[str, Any]]:
    """The shipped settings of each environment, keys lower-cased."""
    return {
        env: lowercase_tree(load_settings(environment=env).as_dict())
        for env in ("development", "production")
    }


def image_env() -> dict[str, str]:
    """The ENV the Dockerfile's runtime stage sets (KEY=value pairs)."""
    env: dict[str, str] = {}
    for line in dockerfile_instruction("ENV"):
        for key, value in re.findall(r"(\w+)=(\S+)", line):
            env[key] = value
    return env


def example_secret() -> dict[str, dict[str, str]]:
    """The Secret(s) in secret.example.yaml: name -> stringData."""
    docs = load_documents(K8S / "secret.example.yaml")
    return {doc["metadata"]["name"]: doc["stringData"] for doc in docs if doc["kind"] == "Secret"}


def step_upper_bound(settings: Any) -> float:
    """Seconds one provider call may take in the worst case: attempts x timeout + backoffs."""
    openai = settings.openai
    attempts = int(openai.max_retries) + 1
    return attempts * float(openai.timeout_seconds) + (attempts - 1) * float(
        openai.backoff_max_seconds
    )


def seconds(value: Any) -> float:
    """Compose durations such as 10m, 90s, 1m30s."""
    if isinstance(value, int | float):
        return float(value)
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", str(value))
    assert parts, f"cannot read duration {value!r}"
    return sum(float(n) * units[u] for n, u in parts)


# --- parsing --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_file_parses(path: Path) -> None:
    docs = load_documents(path)
    assert docs, f"{path} holds no YAML document"
    if path.parent == K8S:
        for doc in docs:
            assert {"apiVersion", "kind"} <= doc.keys(), f"{path}: not a Kubernetes object"
            if doc["kind"] != "Kustomization":
                assert doc["metadata"]["name"], f"{path}: object without a name"


def test_k8s_has_every_required_object() -> None:
    kinds = [(doc["kind"], doc["metadata"]["name"]) for _, doc in k8s_documents()]
    names = {kind for kind, _ in kinds}
    assert {"Deployment", "Service", "Job", "PodDisruptionBudget", "Secret"} <= names
    deployments = {name for kind, name in kinds if kind == "Deployment"}
    assert {"batchkernel-scheduler", "batchkernel-serve"} <= deployments
    kustomization = load_documents(K8S / "kustomization.yaml")[0]
    generated = [g["name"] for g in kustomization.get("configMapGenerator", [])]
    assert "batchkernel-settings" in generated, "the ConfigMap comes from settings.toml"


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    kustomization = load_documents(K8S / "kustomization.yaml")[0]
    resources = set(kustomization["resources"])
    for name in resources:
        assert (K8S / name).exists(), f"kustomization.yaml lists missing {name}"
    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert manifests - resources == {"secret.example.yaml"}, "a manifest is not applied"
    for generator in kustomization["configMapGenerator"]:
        for file in generator["files"]:
            assert (K8S / file.split("=")[-1]).exists()


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_builds_with_a_configmap_from_settings_toml() -> None:
    out = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    docs = [d for d in yaml.safe_load_all(out) if d]
    (configmap,) = [d for d in docs if d["kind"] == "ConfigMap"]
    assert configmap["data"]["settings.toml"] == (K8S / "settings.toml").read_text()
    generated = configmap["metadata"]["name"]
    assert generated.startswith("batchkernel-settings-"), "content hash rolls pods on change"
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "batchkernel"
        pod = doc.get("spec", {}).get("template", {}).get("spec", {})
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] == generated


# --- settings and environment variables: no drift -------------------------------------------------


def deploy_text_files() -> list[Path]:
    """Every text file under deploy/ plus the deployment guide."""
    files = [p for p in DEPLOY.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return sorted([*files, DOCS])


def test_special_variables_are_read_by_the_settings_module() -> None:
    source = (ROOT / "kernel" / "settings.py").read_text()
    for name in SPECIAL_BATCHKERNEL_VARIABLES:
        suffix = name.removeprefix("BATCHKERNEL")
        assert f'{{ENV_PREFIX}}{suffix}"' in source or name in source, name


@pytest.mark.parametrize("path", deploy_text_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_batchkernel_variable_names_a_real_setting(
    path: Path, defaults: dict[str, dict[str, Any]]
) -> None:
    unknown = []
    for name in sorted(set(BATCHKERNEL_NAME.findall(path.read_text(encoding="utf-8")))):
        if name in SPECIAL_BATCHKERNEL_VARIABLES:
            continue
        parts = name.removeprefix("BATCHKERNEL_").split("__")
        if len(parts) < 2 or not all(setting_exists(d, parts) for d in defaults.values()):
            unknown.append(name)
    assert not unknown, f"{path.name} uses variables that map to no setting: {unknown}"


@pytest.mark.parametrize("container", CONTAINERS, ids=lambda c: c.where)
def test_containers_set_only_known_variables(
    container: Container, defaults: dict[str, dict[str, Any]]
) -> None:
    for name in [*container.env, *container.secret_env]:
        if name.startswith("BATCHKERNEL_") and name not in SPECIAL_BATCHKERNEL_VARIABLES:
            parts = name.removeprefix("BATCHKERNEL_").split("__")
            assert setting_exists(defaults["production"], parts), f"{name}: no such setting"
        else:
            assert name in SPECIAL_BATCHKERNEL_VARIABLES | OTHER_VARIABLES, f"{name}: unknown"


def test_k8s_settings_file_only_uses_existing_keys(defaults: dict[str, dict[str, Any]]) -> None:
    parsed = tomllib.loads((K8S / "settings.toml").read_text())
    assert parsed, "empty settings.toml"
    for environment, tree in parsed.items():
        assert environment in ENVIRONMENTS, f"top-level table {environment!r} is no environment"
        for path in toml_leaf_paths(tree):
            reference = defaults["development" if environment == "development" else "production"]
            assert setting_exists(reference, path), f"{environment}.{'.'.join(path)}: unknown"


@pytest.mark.parametrize("container", CONTAINERS, ids=lambda c: c.where)
def test_container_settings_load_and_name_known_plugins(
    container: Container, clean_env: pytest.MonkeyPatch
) -> None:
    """The settings a container ends up with pass validation and build a kernel."""
    from kernel.manager import Kernel

    secrets = example_secret()
    env = image_env() | container.env
    for name, (secret, key) in container.secret_env.items():
        assert key in secrets.get(secret, {}), f"secret {secret} has no key {key}"
        env[name] = secrets[secret][key]
    if "BATCHKERNEL_SETTINGS_FILE" in env:
        assert env["BATCHKERNEL_SETTINGS_FILE"] == SETTINGS_IN_IMAGE
        assert container.settings_file is not None, "settings file named but not mounted"
        env["BATCHKERNEL_SETTINGS_FILE"] = str(container.settings_file)
    for name, value in env.items():
        clean_env.setenv(name, value)
    settings = load_settings()
    plugins = settings.plugins
    for name in [plugins.processor, plugins.provider, *plugins.exporters, *plugins.enabled]:
        assert name in BUILTIN_PLUGINS, f"plugin {name!r} is not a built-in"
    assert plugins.cache == "none" or plugins.cache in BUILTIN_PLUGINS, plugins.cache
    kernel = Kernel.create(settings, autoload=False)
    kernel.close()


# --- commands -------------------------------------------------------------------------------------


def check_batchkernel_args(args: list[str]) -> None:
    """The sub-command exists and accepts the options given (parsed by the real Typer app)."""
    command: Any = typer.main.get_command(app)
    rest = list(args)
    path = ["batchkernel"]
    while hasattr(command, "commands"):
        assert rest and not rest[0].startswith("-"), f"{' '.join(path)} needs a sub-command"
        name = rest.pop(0)
        assert name in command.commands, f"{' '.join(path)} has no sub-command {name!r}"
        command = command.commands[name]
        path.append(name)
    try:
        command.make_context(" ".join(path), rest)
    except Exception as exc:
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        raise AssertionError(f"{' '.join(path)} {rest}: {message}") from exc


def load_probe() -> Any:
    spec = importlib.util.spec_from_file_location("deploy_probe", PROBE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_argv(argv: list[str]) -> None:
    """A command run in the batchkernel image exists and its options parse."""
    assert argv, "empty command"
    program, args = argv[0], argv[1:]
    if program == "batchkernel":
        check_batchkernel_args(args)
    elif program == "python" and args[:1] == ["-m"]:
        module = importlib.import_module(args[1])
        main = (
            importlib.import_module(f"{args[1]}.__main__")
            if hasattr(module, "__path__")
            else module
        )
        main.build_parser().parse_args(args[2:])
    elif program == "python" and args[:1] == ["-c"]:
        compile(args[1], "<healthcheck>", "exec")
    elif program == "python" and args[0] == PROBE_IN_IMAGE:
        load_probe().build_parser().parse_args(args[1:])
    else:
        raise AssertionError(f"unexpected program {argv}")


@pytest.mark.parametrize("container", CONTAINERS, ids=lambda c: c.where)
def test_container_commands_exist(container: Container) -> None:
    check_argv(container.argv)
    for probe in container.checks:
        check_argv(probe)


def test_image_entrypoint_healthcheck_and_probe_path() -> None:
    assert image_entrypoint() == ["batchkernel"]
    check_argv(image_healthcheck())
    assert image_healthcheck()[1:3] == [PROBE_IN_IMAGE, "serve"], "health through serve"
    assert f"deploy/probe.py {PROBE_IN_IMAGE}" in dockerfile_instruction("COPY")


# --- Dockerfile -----------------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_slim_and_non_root() -> None:
    stages = dockerfile_instruction("FROM")
    assert len(stages) >= 2, "multi-stage build"
    base = next(a.split("=", 1)[1] for a in dockerfile_instruction("ARG") if "PYTHON_IMAGE=" in a)
    assert "slim" in base and base.startswith("python:3.11")
    user = dockerfile_instruction("USER")[-1].split(":")[0]
    assert user not in ("0", "root")
    for copy in dockerfile_instruction("COPY"):
        parts = copy.split()
        if parts[0].startswith("--from"):
            continue
        for source in parts[:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"


def test_dockerfile_extras_exist_in_pyproject() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    arg = next(a for a in dockerfile_instruction("ARG") if a.startswith("EXTRAS"))
    for extra in filter(None, arg.split("=", 1)[1].split(",")):
        assert extra in extras and extra != "dev", f"extra {extra!r}"


# --- Kubernetes shape -----------------------------------------------------------------------------


def objects(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for _, d in k8s_documents() if d["kind"] == kind}


def k8s_settings(clean_env: pytest.MonkeyPatch) -> Any:
    clean_env.setenv("BATCHKERNEL_SETTINGS_FILE", str(K8S / "settings.toml"))
    return load_settings(environment="production")


def test_scheduler_deployment(clean_env: pytest.MonkeyPatch) -> None:
    deployment = objects("Deployment")["batchkernel-scheduler"]
    spec, pod = deployment["spec"], deployment["spec"]["template"]["spec"]
    assert spec["replicas"] >= 2
    settings = k8s_settings(clean_env)
    assert pod["terminationGracePeriodSeconds"] > step_upper_bound(settings)
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["args"] == ["run"]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert probe in container, f"scheduler has no {probe}"
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    init = pod["initContainers"][0]
    assert init["command"][1:3] == [PROBE_IN_IMAGE, "schema"], "waits for the migrations"
    # the batch work directory is writable (read-only root file system)
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    workdir = image_env()["BATCHKERNEL_BATCH__WORKDIR"]
    assert any(workdir.startswith(m) for m in mounts)


def test_serve_deployment_and_service(clean_env: pytest.MonkeyPatch) -> None:
    deployment = objects("Deployment")["batchkernel-serve"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["serve"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    settings = k8s_settings(clean_env)
    assert ports["http"] == int(settings.serve.port)
    assert str(settings.serve.host) == "0.0.0.0"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    service = objects("Service")["batchkernel-serve"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    for port in service["spec"]["ports"]:
        assert port["targetPort"] in ports or port["targetPort"] in ports.values()


def test_migration_job_runs_db_upgrade() -> None:
    (job,) = objects("Job").values()
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["db", "upgrade"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in ("Never", "OnFailure")


def test_disruption_budgets_select_the_deployments() -> None:
    deployments = objects("Deployment")
    covered = set()
    for pdb in objects("PodDisruptionBudget").values():
        selector = pdb["spec"]["selector"]["matchLabels"]
        matched = [
            name
            for name, d in deployments.items()
            if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(matched) == 1, f"PDB {pdb['metadata']['name']} selects {matched}"
        assert pdb["spec"]["minAvailable"] < deployments[matched[0]]["spec"]["replicas"]
        covered.update(matched)
    assert "batchkernel-scheduler" in covered


def test_pods_mount_only_declared_volumes_and_selectors_match() -> None:
    for _, doc in k8s_documents():
        template = doc.get("spec", {}).get("template")
        if not template:
            continue
        pod = template["spec"]
        declared = {v["name"] for v in pod.get("volumes", [])}
        for container in pod.get("initContainers", []) + pod["containers"]:
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in declared, f"{doc['metadata']['name']}: {mount['name']}"
        if doc["kind"] == "Deployment":
            selector = doc["spec"]["selector"]["matchLabels"]
            assert selector.items() <= template["metadata"]["labels"].items()


# --- compose --------------------------------------------------------------------------------------


def test_compose_stack(clean_env: pytest.MonkeyPatch) -> None:
    services = compose()["services"]
    required = {"postgres", "redis", "otel-collector", "jaeger", "prometheus", "migrate"}
    assert required | {"scheduler", "serve", "emulator"} <= services.keys()
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    scheduler = services["scheduler"]
    assert scheduler["command"] == ["run"] and scheduler["deploy"]["replicas"] >= 2
    clean_env.setenv("BATCHKERNEL_ENV", "production")
    bound = step_upper_bound(load_settings())
    assert seconds(scheduler["stop_grace_period"]) > bound
    for name in ("scheduler", "serve"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", "migrations first"
    assert services["emulator"]["profiles"] == ["emulator"], "the emulator is optional"
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"compose mounts missing {source}"


def test_compose_addresses_point_at_services() -> None:
    services = compose()["services"]
    env = next(c for c in compose_containers() if c.where.endswith(" scheduler")).env
    assert "@postgres:5432/" in env["BATCHKERNEL_DATABASE__URL"]
    assert env["BATCHKERNEL_TELEMETRY__ENDPOINT"] == "http://otel-collector:4318"
    collector = load_documents(DEPLOY / "otel-collector.yaml")[0]
    http = collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    assert http.endswith(":4318")
    serve = next(c for c in compose_containers() if c.where.endswith(" serve"))
    port = serve.env["BATCHKERNEL_SERVE__PORT"]
    assert any(p.endswith(f":{port}") for p in services["serve"]["ports"])
    emulator = services["emulator"]["command"]
    emulator_url = f"http://emulator:{emulator[emulator.index('--port') + 1]}/v1"
    assert emulator_url in COMPOSE.read_text() and emulator_url in DOCS.read_text()


def test_collector_pipelines_and_prometheus_target() -> None:
    collector = load_documents(DEPLOY / "otel-collector.yaml")[0]
    pipelines = collector["service"]["pipelines"]
    for kind in ("receivers", "processors", "exporters"):
        for pipeline in pipelines.values():
            for name in pipeline.get(kind, []):
                assert name in collector[kind], f"{name} is not defined under {kind}"
    traces = [collector["exporters"][e] for e in pipelines["traces"]["exporters"]]
    assert any(e.get("endpoint", "").startswith("jaeger:") for e in traces), "traces to Jaeger"
    assert "prometheus" in pipelines["metrics"]["exporters"]
    port = collector["exporters"]["prometheus"]["endpoint"].rsplit(":", 1)[1]
    prometheus = load_documents(DEPLOY / "prometheus.yml")[0]
    targets = [
        t
        for job in prometheus["scrape_configs"]
        for s in job["static_configs"]
        for t in s["targets"]
    ]
    assert f"otel-collector:{port}" in targets


# --- docs -----------------------------------------------------------------------------------------


def test_docs_commands_exist_and_readme_links_the_guide() -> None:
    text = DOCS.read_text()
    code = "\n".join(re.findall(r"`([^`\n]+)`", text) + re.findall(r"```\w*\n(.*?)```", text, re.S))
    # a command line or code span that runs batchkernel (not `kubectl -n batchkernel ...`)
    used = re.findall(r"(?:^|&& |; )batchkernel ((?:db )?[a-z][a-z-]+)", code, re.MULTILINE)
    assert used, "the guide shows no batchkernel command"
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    for command in set(used):
        parts = command.split()
        assert parts[0] in group.commands, f"docs use unknown command batchkernel {command}"
        if parts[0] == "db":
            db = group.commands["db"]
            assert isinstance(db, typer.core.TyperGroup) and parts[1] in db.commands
    assert "docs/deployment.md" in (ROOT / "README.md").read_text()
