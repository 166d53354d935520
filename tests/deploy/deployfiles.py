"""Reading the files under ``deploy/``: YAML documents, containers that run the batchkernel image,
their commands and environments, and the keys of the shipped settings."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCS = ROOT / "docs" / "deployment.md"
PROBE = DEPLOY / "probe.py"
PROBE_IN_IMAGE = "/opt/batchkernel/probe.py"
SETTINGS_IN_IMAGE = "/etc/batchkernel/settings.toml"
IMAGE_NAME = "batchkernel"  # the image name in the k8s manifests (kustomize `images` renames it)

# Environment variables the program reads that are not `BATCHKERNEL_<SECTION>__<KEY>` settings.
SPECIAL_BATCHKERNEL_VARIABLES = {
    "BATCHKERNEL_ENV",
    "BATCHKERNEL_SETTINGS_FILE",
    "BATCHKERNEL_TRACE_PLUGINS",
}
# Standard OpenTelemetry exporter variables (the design says they apply).
OTEL_VARIABLES = {
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
}
BATCHKERNEL_NAME = re.compile(r"\bBATCHKERNEL_[A-Z0-9_]*[A-Z0-9]")
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?([-?])([^}]*))?\}")


def yaml_files() -> list[Path]:
    """Every YAML file under deploy/."""
    return sorted(p for ext in ("*.yaml", "*.yml") for p in DEPLOY.rglob(ext))


def load_documents(path: Path) -> list[Any]:
    """All YAML documents of a file (k8s files may hold several), empty ones dropped."""
    with path.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


def k8s_documents() -> list[tuple[Path, dict[str, Any]]]:
    """Every Kubernetes object under deploy/k8s (not the kustomization itself)."""
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in load_documents(path):
            if doc.get("kind") != "Kustomization":
                found.append((path, doc))
    return found


def compose() -> dict[str, Any]:
    """The compose file, YAML merge keys resolved."""
    (doc,) = load_documents(COMPOSE)
    return doc


def interpolate(value: str, given: dict[str, str] | None = None) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}`` with test values."""
    given = given or {}

    def sub(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if name in given:
            return given[name]
        if op == "-":
            return arg or ""
        return f"test-{name.lower()}"

    return INTERPOLATION.sub(sub, value)


@dataclass
class Container:
    """One container that runs the batchkernel image."""

    where: str
    argv: list[str]
    env: dict[str, str]
    secret_env: dict[str, tuple[str, str]] = field(default_factory=dict)
    checks: list[list[str]] = field(default_factory=list)
    settings_file: Path | None = None


def _as_argv(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    return [str(item) for item in value]


def _probe_argv(probe: dict[str, Any] | None) -> list[str] | None:
    if probe and "exec" in probe:
        return _as_argv(probe["exec"]["command"])
    return None


def _compose_check(test: Any) -> list[str] | None:
    if not test or test in (["NONE"],):
        return None
    argv = _as_argv(test)
    if argv[0] == "CMD":
        return argv[1:]
    if argv[0] == "CMD-SHELL":
        return ["sh", "-c", " ".join(argv[1:])]
    return argv


def dockerfile_instruction(name: str) -> list[str]:
    """The arguments of each occurrence of a Dockerfile instruction (line continuations joined)."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    pattern = re.compile(rf"^\s*{name}\s+(.*)$", re.MULTILINE | re.IGNORECASE)
    return [m.group(1).strip() for m in pattern.finditer(text)]


def image_entrypoint() -> list[str]:
    """The image's ENTRYPOINT (exec form)."""
    import json

    (entry,) = dockerfile_instruction("ENTRYPOINT")
    return json.loads(entry)


def image_healthcheck() -> list[str]:
    """The image's HEALTHCHECK command (exec form)."""
    import json

    (check,) = dockerfile_instruction("HEALTHCHECK")
    return json.loads(check.split(" CMD ", 1)[1])


def compose_containers() -> Iterator[Container]:
    """The compose services built from the batchkernel image."""
    services = compose()["services"]
    for name, service in services.items():
        if "build" not in service:
            continue
        entry = _as_argv(service.get("entrypoint")) or image_entrypoint()
        argv = entry + _as_argv(service.get("command"))
        env = {k: interpolate(str(v)) for k, v in (service.get("environment") or {}).items()}
        check = _compose_check((service.get("healthcheck") or {}).get("test"))
        disabled = (service.get("healthcheck") or {}).get("disable")
        checks = [check] if check else ([] if disabled else [image_healthcheck()])
        yield Container(f"compose service {name}", argv, env, checks=checks)


def k8s_containers() -> Iterator[Container]:
    """Containers and init containers in the k8s manifests that run the batchkernel image."""
    for path, doc in k8s_documents():
        spec = doc.get("spec", {})
        pod = spec.get("template", {}).get("spec") or spec.get("jobTemplate", {}).get("spec", {})
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for container in pod.get("initContainers", []) + pod.get("containers", []):
            if container["image"].split(":")[0] != IMAGE_NAME:
                continue
            argv = _as_argv(container.get("command")) or image_entrypoint()
            argv = argv + _as_argv(container.get("args"))
            env, secret_env = {}, {}
            for item in container.get("env", []):
                if "value" in item:
                    env[item["name"]] = str(item["value"])
                else:
                    ref = item["valueFrom"]["secretKeyRef"]
                    secret_env[item["name"]] = (ref["name"], ref["key"])
            settings_file = None
            for mount in container.get("volumeMounts", []):
                volume = volumes[mount["name"]]
                if "configMap" in volume and env.get("BATCHKERNEL_SETTINGS_FILE", "").startswith(
                    mount["mountPath"]
                ):
                    settings_file = K8S / Path(env["BATCHKERNEL_SETTINGS_FILE"]).name
            checks = [
                argv
                for argv in (
                    _probe_argv(container.get(p))
                    for p in ("startupProbe", "livenessProbe", "readinessProbe")
                )
                if argv
            ]
            yield Container(
                f"{path.name} {doc['kind']}/{doc['metadata']['name']} container {container['name']}",
                argv,
                env,
                secret_env,
                checks,
                settings_file,
            )


def lowercase_tree(value: Any) -> Any:
    """A settings tree with every key lower-cased (dynaconf keys are case-insensitive)."""
    if isinstance(value, dict):
        return {str(k).lower(): lowercase_tree(v) for k, v in value.items()}
    return value


def setting_exists(tree: dict[str, Any], path: list[str]) -> bool:
    """Does the dotted path exist in the (lower-cased) settings tree?"""
    node: Any = tree
    for part in path:
        if not isinstance(node, dict) or part.lower() not in node:
            return False
        node = node[part.lower()]
    return True


def toml_leaf_paths(tree: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[list[str]]:
    """Every leaf key of a parsed TOML tree, as a path (tables are descended into)."""
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            yield from toml_leaf_paths(value, (*prefix, key))
        else:
            yield [*prefix, key]
