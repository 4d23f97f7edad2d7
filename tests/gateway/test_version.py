"""``lastmile --version``: the installed command names the release it is."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import gateway
from gateway import version


def test_the_installed_command_prints_its_package_version() -> None:
    command = Path(sys.executable).with_name("lastmile")  # the console script pip installed
    done = subprocess.run(  # noqa: S603 - our own CLI
        [str(command), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"lastmile {metadata.version('lastmile-gateway')}\n"


def test_the_source_tree_version_matches_the_package_metadata() -> None:
    """``gateway.__version__`` is the fallback; it must not drift from pyproject.toml."""
    assert gateway.__version__ == metadata.version("lastmile-gateway")


def test_without_package_metadata_the_source_tree_version_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(version.metadata, "version", missing)
    assert version.installed_version() == gateway.__version__
