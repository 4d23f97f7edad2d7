"""The image targets, read from the Dockerfile, and the production wheel built as its
production target builds it: no sandboxes in it, non-root, data and key on a volume."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

from tests.deploy.conftest import DOCKERFILE
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

    done = subprocess.run(  # noqa: S603 - the production install's own CLI
        [str(production_bin / "lastmile"), "sandbox", "--system", "wms"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert "the sandboxes are not installed here" in done.stderr
    assert "Traceback" not in done.stderr
