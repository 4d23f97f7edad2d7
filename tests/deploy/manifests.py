"""The deploy/ files as data, and the vendored schemas they are validated against."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from tests.deploy.conftest import DEPLOY

SCHEMAS = Path(__file__).parent / "schemas"
KUBERNETES = SCHEMAS / "kubernetes" / "v1.34.0-local-strict"
KIND_FILES = {
    ("v1", "ConfigMap"): "configmap-v1.json",
    ("apps/v1", "Deployment"): "deployment-apps-v1.json",
    ("policy/v1", "PodDisruptionBudget"): "poddisruptionbudget-policy-v1.json",
    ("v1", "Secret"): "secret-v1.json",
    ("v1", "Service"): "service-v1.json",
}


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def kubernetes_objects() -> list[dict[str, Any]]:
    """Every object of deploy/k8s/, in file order."""
    return [
        document
        for path in sorted((DEPLOY / "k8s").glob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text())
        if document is not None
    ]


def kubernetes_object(kind: str) -> dict[str, Any]:
    (found,) = [o for o in kubernetes_objects() if o["kind"] == kind]
    return found


def compose_errors(document: Any) -> list[str]:
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text())
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def kubernetes_errors(document: dict[str, Any]) -> list[str]:
    """Problems of one object against its kind's strict schema (unknown kinds are one)."""
    name = KIND_FILES.get((document.get("apiVersion"), document.get("kind")))
    if name is None:
        return [f"no vendored schema for {document.get('apiVersion')}/{document.get('kind')}"]
    definitions = json.loads((KUBERNETES / "_definitions.json").read_text())
    registry: Registry[Any] = Registry().with_resource(
        definitions["$id"], Resource.from_contents(definitions)
    )
    schema = json.loads((KUBERNETES / name).read_text())
    validator = Draft202012Validator(schema, registry=registry)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
