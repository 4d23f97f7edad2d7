"""deploy/compose.yaml's services as plain processes on loopback, since no Docker engine runs
here: each service's own command and environment, read from the file, with only what a
container provides replaced.

What is replaced, and nothing else:

- ``service:port`` addresses (Docker's DNS) become ``127.0.0.1:<free port>``, and a
  ``--port`` in a command takes that free port; ``--host 0.0.0.0`` becomes loopback;
- paths a container sees through ``configs:``, ``secrets:`` and volumes become the files
  and directories they come from (or a directory of the test's);
- the images' entrypoints: ``lastmile:production`` runs the ``lastmile`` of an install of
  the production wheel, ``lastmile:demo`` this checkout's (it has the sandboxes), other
  images the command itself from ``PATH`` (``redis-server``, ``haproxy``);
- the PostgreSQL service is the machine's server, with a fresh database per test.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.deploy.conftest import DEPLOY, DOCKERFILE
from tests.deploy.dockerfile import lineage, stages

_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
DEFAULT_PORTS = {"redis": 6379, "postgres": 5432}


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?error}``."""

    def one(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3) or ""
        value = env.get(name)
        unset = value is None or (value == "" and operator in (":-", ":?"))
        if not unset:
            return value or ""
        if operator in (":-", "-"):
            return argument
        raise AssertionError(f"compose needs {name}: {argument}")

    return _INTERPOLATION.sub(one, value)


def image_environment(target: str) -> dict[str, str]:
    """The ``ENV`` a Dockerfile target sets (``PATH`` aside: processes keep the host's)."""
    found: dict[str, str] = {}
    for stage in reversed(lineage(stages(DOCKERFILE), target)):
        for word, rest in stage.instructions:
            if word == "ENV":
                for pair in shlex.split(rest):
                    name, _, value = pair.partition("=")
                    found[name] = value
    found.pop("PATH", None)
    return found


def container_port(name: str, service: Mapping[str, Any]) -> int:
    command = list(service.get("command", []))
    if "--port" in command:
        return int(command[command.index("--port") + 1])
    for mapping in service.get("ports", []):
        return int(str(mapping).rsplit(":", 1)[-1])
    return DEFAULT_PORTS[name]


@dataclass
class Translation:
    """Addresses and paths as a container sees them, and what they are here."""

    addresses: dict[str, str]  # "service:port" -> "127.0.0.1:port"
    ports: dict[str, int]  # service -> its port here

    def address(self, value: str) -> str:
        for inside, here in self.addresses.items():
            value = value.replace(inside, here)
        return value


def mounts(service: Mapping[str, Any], top: Mapping[str, Any], scratch: Path) -> dict[str, Path]:
    """Container path -> path here, for the service's configs, secrets and volumes."""
    found: dict[str, Path] = {}
    for kind, default_root in (("configs", "/"), ("secrets", "/run/secrets/")):
        for entry in service.get(kind, []):
            source = top[kind][entry["source"]]["file"]
            target = entry.get("target", entry["source"])
            inside = target if target.startswith("/") else default_root + target
            found[inside] = (DEPLOY / source).resolve()
    for volume in service.get("volumes", []):
        name, inside = str(volume).split(":")[:2]
        found[inside] = scratch / name
        found[inside].mkdir(parents=True, exist_ok=True)
    return found


def localise(value: str, translation: Translation, paths: Mapping[str, Path]) -> str:
    """One argument or environment value as this machine needs it."""
    value = translation.address(value)
    for inside in sorted(paths, key=len, reverse=True):
        if value == inside or value.startswith(inside.rstrip("/") + "/"):
            return str(paths[inside]) + value[len(inside.rstrip("/")) :]
    return value


@dataclass
class LocalProcess:
    """One compose service as a process: what to run, in which directory, with what."""

    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    port: int


def local_process(
    name: str,
    top: Mapping[str, Any],
    translation: Translation,
    scratch: Path,
    *,
    production_bin: Path,
    compose_env: Mapping[str, str],
    overrides: Mapping[str, str],
    extra_paths: Mapping[str, Path] | None = None,
) -> LocalProcess:
    """The process that stands for service ``name``; ``overrides`` replace environment
    values outright (the PostgreSQL DSN: the machine's server, not the compose service)."""
    service = top["services"][name]
    directory = scratch / name
    directory.mkdir(parents=True, exist_ok=True)
    paths = {**mounts(service, top, directory), **(extra_paths or {})}
    image = str(service["image"])
    env = dict(os.environ)
    if image.startswith("lastmile:"):
        target = image.split(":", 1)[1]
        paths.setdefault("/var/lib/lastmile", directory)  # the image's VOLUME
        env.update(
            {k: localise(v, translation, paths) for k, v in image_environment(target).items()}
        )
        entry = [str(production_bin / "lastmile")] if target == "production" else [
            sys.executable, "-m", "gateway"
        ]  # fmt: skip
    else:
        entry = []
    for key, value in dict(service.get("environment", {})).items():
        env[key] = localise(interpolate(str(value), compose_env), translation, paths)
    if "hostname" in service:
        env["HOSTNAME"] = service["hostname"]
    env.update(overrides)
    argv = [
        localise(interpolate(str(a), compose_env), translation, paths) for a in service["command"]
    ]
    port = translation.ports[name]
    if "--port" in argv:
        argv[argv.index("--port") + 1] = str(port)
    if "--host" in argv:
        argv[argv.index("--host") + 1] = "127.0.0.1"
    return LocalProcess(name, entry + argv, env, directory, port)
