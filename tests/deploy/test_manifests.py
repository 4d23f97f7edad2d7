"""deploy/compose.yaml and deploy/k8s/ against the published schemas (vendored, see
schemas/README.md), and the promises docs/production.md makes about them."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import DEPLOY
from tests.deploy.manifests import (
    compose,
    compose_errors,
    kubernetes_errors,
    kubernetes_object,
    kubernetes_objects,
)

GATEWAYS = ("gateway-1", "gateway-2", "gateway-3")


def _references(text: str) -> set[str]:
    """The environment variables a gateway.yaml refers to without a default."""
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text))


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    assert compose_errors(compose()) == []


def test_the_compose_schema_check_catches_a_misspelt_key() -> None:
    broken = compose()
    broken["services"]["redis"]["comand"] = broken["services"]["redis"].pop("command")
    assert any("comand" in error for error in compose_errors(broken))


def test_compose_runs_three_production_gateways_behind_haproxy() -> None:
    services = compose()["services"]
    for name in GATEWAYS:
        gateway = services[name]
        assert gateway["build"]["target"] == "production"
        assert gateway["hostname"] == name  # fleet.name: ${HOSTNAME}
        assert gateway["read_only"] is True
        assert {c["target"] for c in gateway["configs"]} >= {"/etc/lastmile/gateway.yaml"}
    config = (DEPLOY / "haproxy.cfg").read_text()
    for name in GATEWAYS:
        assert f'"${{LASTMILE_{name.upper().replace("-", "_")}-{name}:8080}}"' in config
    assert "uri /readyz" in config
    lb = services["lb"]
    assert lb["image"].startswith("haproxy:")
    assert compose()["configs"]["haproxy_cfg"]["file"] == "./haproxy.cfg"
    for sandbox in ("acme-wms", "acme-erp"):
        assert services[sandbox]["build"]["target"] == "demo"


def test_compose_redis_keeps_what_it_is_given_and_never_evicts() -> None:
    command = compose()["services"]["redis"]["command"]
    options = dict(zip(command[1::2], command[2::2], strict=True))
    assert options["--appendonly"] == "yes"
    assert options["--maxmemory-policy"] == "noeviction"


def test_the_fleet_config_keeps_everything_shared_in_postgres_and_redis() -> None:
    config = yaml.safe_load((DEPLOY / "gateway.yaml").read_text())
    assert config["audit"]["store"] == "postgres"
    assert config["guardrails"]["approvals"]["store"] == "postgres"
    assert config["guardrails"]["halts"]["store"] == "postgres"
    assert config["state"]["store"] == "redis"
    assert config["postgres"]["dsn"] == "${LASTMILE_POSTGRES_DSN}"
    checkpoints = config["audit"]["checkpoints"]
    assert checkpoints["key_file"] == "${LASTMILE_AUDIT_KEY_FILE}"  # one key, mounted
    assert checkpoints["create_key_file"] is False  # never a fresh key per replica


def test_every_variable_the_fleet_config_needs_is_set_by_compose_and_kubernetes() -> None:
    needed = _references((DEPLOY / "gateway.yaml").read_text())
    services = compose()["services"]
    for name in GATEWAYS:
        given = set(services[name]["environment"]) | {"HOSTNAME"}  # from hostname:
        assert needed <= given, f"{name} lacks {needed - given}"
    (container,) = kubernetes_object("Deployment")["spec"]["template"]["spec"]["containers"]
    assert needed <= {variable["name"] for variable in container["env"]}


KINDS = ["ConfigMap", "Deployment", "PodDisruptionBudget", "Secret", "Service"]


@pytest.mark.parametrize("kind", KINDS)
def test_each_kubernetes_manifest_is_valid_against_its_schema(kind: str) -> None:
    assert kubernetes_errors(kubernetes_object(kind)) == []


def test_deploy_k8s_holds_only_the_five_kinds() -> None:
    kinds = sorted(o["kind"] for o in kubernetes_objects())
    assert kinds == KINDS


def test_the_kubernetes_schema_check_catches_a_misspelt_field_and_a_wrong_type() -> None:
    deployment = kubernetes_object("Deployment")
    misspelt = copy.deepcopy(deployment)
    container = misspelt["spec"]["template"]["spec"]["containers"][0]
    container["livenesProbe"] = container.pop("livenessProbe")
    assert any("livenesProbe" in e for e in kubernetes_errors(misspelt))
    wrong = copy.deepcopy(deployment)
    wrong["spec"]["replicas"] = "three"
    assert any("replicas" in e for e in kubernetes_errors(wrong))


def _container() -> dict[str, Any]:
    (container,) = kubernetes_object("Deployment")["spec"]["template"]["spec"]["containers"]
    return container  # type: ignore[no-any-return]


def test_the_deployment_runs_three_non_root_replicas_with_probes_and_bounds() -> None:
    deployment = kubernetes_object("Deployment")
    assert deployment["spec"]["replicas"] == 3
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    container = _container()
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    for bound in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][bound])


def test_service_and_disruption_budget_select_the_deployments_pods() -> None:
    labels = kubernetes_object("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert kubernetes_object("Service")["spec"]["selector"].items() <= labels.items()
    budget = kubernetes_object("PodDisruptionBudget")["spec"]
    assert budget["selector"]["matchLabels"].items() <= labels.items()
    assert budget["minAvailable"] == 2  # of 3: a drain never takes more than one


def test_the_configmap_carries_the_fleet_config_unchanged() -> None:
    carried = kubernetes_object("ConfigMap")["data"]["gateway.yaml"]
    assert carried == (DEPLOY / "gateway.yaml").read_text()


def test_every_key_the_deployment_takes_from_configmap_and_secret_exists() -> None:
    config_keys = set(kubernetes_object("ConfigMap")["data"])
    secret_keys = set(kubernetes_object("Secret")["stringData"])
    for variable in _container()["env"]:
        source = variable.get("valueFrom", {})
        if "configMapKeyRef" in source:
            assert source["configMapKeyRef"]["key"] in config_keys
        if "secretKeyRef" in source:
            assert source["secretKeyRef"]["key"] in secret_keys
    for volume in kubernetes_object("Deployment")["spec"]["template"]["spec"]["volumes"]:
        items = (volume.get("configMap") or volume.get("secret") or {}).get("items", [])
        keys = config_keys if "configMap" in volume else secret_keys
        assert {item["key"] for item in items} <= keys


def test_the_secret_holds_placeholders_only() -> None:
    values = kubernetes_object("Secret")["stringData"].values()
    assert all("REPLACE-ME" in value for value in values)
    assert not any("PRIVATE KEY-----\n" in value for value in values)


def test_the_deployment_reads_the_configmap_and_secret_that_exist() -> None:
    names = {o["kind"]: o["metadata"]["name"] for o in kubernetes_objects()}
    pod = kubernetes_object("Deployment")["spec"]["template"]["spec"]
    for variable in _container()["env"]:
        source = variable.get("valueFrom", {})
        if "configMapKeyRef" in source:
            assert source["configMapKeyRef"]["name"] == names["ConfigMap"]
        if "secretKeyRef" in source:
            assert source["secretKeyRef"]["name"] == names["Secret"]
    for volume in pod["volumes"]:
        if "configMap" in volume:
            assert volume["configMap"]["name"] == names["ConfigMap"]
        if "secret" in volume:
            assert volume["secret"]["secretName"] == names["Secret"]
