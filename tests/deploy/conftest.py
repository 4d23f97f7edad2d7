"""What the deploy/ files are checked with: the repository's paths, and an install of what
the production image holds (no Docker engine runs here to build the image itself)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.deploy.dockerfile import context_sources, stages

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = ROOT / "Dockerfile"


def system_binary(name: str) -> str:
    """The path of a Debian package's program (``make install`` installs them), also where
    ``PATH`` lacks the sbin directories; skips the test without it (fails in CI)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])
    found = shutil.which(name, path=path)
    if found is None:
        reason = f"{name} is not installed (make install installs it)"
        if os.environ.get("LASTMILE_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def _run(*argv: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
    assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="session")
def production_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin/`` of a virtualenv holding the wheel the production target builds: made from
    exactly the files its stages copy from the build context, installed without
    dependencies; those come from this environment's site-packages (added by a ``.pth``, so
    none of their own ``.pth`` files, such as the editable install of this checkout, apply)."""
    root = tmp_path_factory.mktemp("production-image")
    context = root / "context"
    for source in context_sources(stages(DOCKERFILE), "production"):
        origin, target = ROOT / source, context / source
        target.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_dir():
            shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(origin, target)
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input")
    _run(*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(root / "dist"), str(context))  # fmt: skip
    _run(sys.executable, "-m", "venv", "--without-pip", str(root / "venv"))
    venv_python = root / "venv" / "bin" / "python"
    wheels = [str(w) for w in (root / "dist").glob("*.whl")]
    _run(*pip, "--python", str(venv_python), "install", "--no-deps", "--no-index", "-q", *wheels)
    site = subprocess.run(  # noqa: S603 - the interpreter we just made
        [str(venv_python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    Path(site, "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return root / "venv" / "bin"
