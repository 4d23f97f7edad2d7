"""The image targets, read from the Dockerfile, and the production wheel built as its
production target builds it: no sandboxes in it, non-root, data and key on a volume, the
fleet config accepted, a placeholder key refused; and HAProxy's view of its config."""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

import yaml

from tests.deploy.conftest import DEPLOY, DOCKERFILE, ROOT, system_binary
from tests.deploy.dockerfile import context_sources, lineage, stages


def test_the_production_target_is_the_default_and_copies_no_sandbox() -> None:
    found = stages(DOCKERFILE)
    assert list(found)[-1] == "production"  # `docker build .` without --target builds it
    copied = context_sources(found, "production")
    assert {"gateway", "adapters", "schemas"} <= set(copied)
    assert not [source for source in copied if source.startswith("sandbox")]
    assert not [source for source in copied if source in (".", "./")]  # not the whole context


def test_the_demo_target_carries_the_sandboxes() -> None:
    copied = context_sources(stages(DOCKERFILE), "demo")
    assert "sandbox" in copied


def test_both_images_run_as_a_non_root_user_with_data_and_key_on_a_volume() -> None:
    found = stages(DOCKERFILE)
    for target in ("production", "demo"):
        steps = [step for stage in reversed(lineage(found, target)) for step in stage.instructions]
        users = [rest for word, rest in steps if word == "USER"]
        assert users, f"{target} runs as root"
        assert users[-1].split(":")[0] not in ("0", "root")
        volumes = " ".join(rest for word, rest in steps if word == "VOLUME")
        assert '"/var/lib/lastmile"' in volumes
        environment = " ".join(rest for word, rest in steps if word == "ENV")
        assert "LASTMILE_AUDIT_DB=/var/lib/lastmile/" in environment
        assert "LASTMILE_AUDIT_KEY_FILE=/var/lib/lastmile/" in environment


def test_the_production_wheel_has_no_sandbox_and_says_so_when_asked_for_one(
    production_bin: Path,
) -> None:
    wheel = next((production_bin.parent.parent / "dist").glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert any(name.startswith("gateway/") for name in names)
    assert any(name.startswith("adapters/") for name in names)
    assert not [name for name in names if name.startswith("sandbox")]

    for command in (["sandbox", "--system", "wms"], ["demo"]):
        done = subprocess.run(  # noqa: S603 - the production install's own CLI
            [str(production_bin / "lastmile"), *command],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert done.returncode == 2, command
        assert "the sandboxes are not installed here" in done.stderr
        assert "Traceback" not in done.stderr


def test_the_build_context_leaves_out_deploy_and_its_secrets() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert "deploy" in ignored  # deploy/secrets/*.pem and deploy/.env never reach a build
    assert {"deploy/.env", "deploy/secrets/"} <= set((ROOT / ".gitignore").read_text().split())


def _production_env(**extra: str) -> dict[str, str]:
    """The environment the fleet config needs, as compose would give it (addresses unused)."""
    return {
        **os.environ,
        "HOSTNAME": "gateway-1",
        "LASTMILE_POSTGRES_DSN": "postgresql://lastmile:unused@127.0.0.1:9/lastmile",
        "LASTMILE_REDIS_URL": "redis://127.0.0.1:9/0",
        "LASTMILE_ACME_WMS_URL": "http://127.0.0.1:9",
        "LASTMILE_ACME_ERP_URL": "http://127.0.0.1:9",
        "LASTMILE_ACME_ERP_WSDL": str(ROOT / "sandbox" / "acme_finance.wsdl"),
        **extra,
    }


def test_the_production_install_accepts_the_fleet_config(production_bin: Path) -> None:
    done = subprocess.run(  # noqa: S603 - the production install's own CLI
        [str(production_bin / "lastmile"), "check-config", str(DEPLOY / "gateway.yaml")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env=_production_env(LASTMILE_AUDIT_KEY_FILE="/run/secrets/audit_signing_key"),
    )
    assert done.returncode == 0, done.stderr
    assert "2 backend(s)" in done.stdout


def test_the_placeholder_signing_key_of_the_secret_stops_start_up(
    production_bin: Path, tmp_path: Path
) -> None:
    secret = yaml.safe_load((DEPLOY / "k8s" / "secret.yaml").read_text())
    placeholder = tmp_path / "audit-signing.pem"
    placeholder.write_text(secret["stringData"]["audit-signing.pem"])
    done = subprocess.run(  # noqa: S603 - the production install's own CLI
        [str(production_bin / "lastmile"), "serve", "--config", str(DEPLOY / "gateway.yaml")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=tmp_path,
        env=_production_env(LASTMILE_AUDIT_KEY_FILE=str(placeholder)),
    )
    assert done.returncode == 2
    assert done.stderr.startswith("cannot start: the signing key is neither PEM")
    assert "Traceback" not in done.stderr


def test_haproxy_accepts_the_load_balancer_config() -> None:
    done = subprocess.run(  # noqa: S603 - the Debian package's binary
        [system_binary("haproxy"), "-c", "-f", str(DEPLOY / "haproxy.cfg")],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert done.returncode == 0, done.stdout + done.stderr
