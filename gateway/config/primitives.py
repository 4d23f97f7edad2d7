"""What every section of gateway.yaml is built from: environment-substituted strings,
secrets that only come from the environment, URLs, one duration syntax, the base section.

Every section model lives in its own module of this package and imports only from here,
so a layer that uses a section never defines it, and no section imports another's layer.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationInfo

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """The config cannot be used; ``problems`` holds one line per error, with its place."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: {len(problems)} error(s)\n" + "\n".join(problems))
        self.source = source
        self.problems = problems


def _env(info: ValidationInfo) -> Mapping[str, str]:
    context = info.context if isinstance(info.context, Mapping) else {}
    env = context.get("env")
    return env if isinstance(env, Mapping) else os.environ


def substitute(value: Any, info: ValidationInfo) -> Any:
    if not isinstance(value, str):
        return value
    env = _env(info)

    def lookup(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ValueError(f"environment variable {name} is not set")

    return _REFERENCE.sub(lookup, value)


def _secret_reference(value: Any, info: ValidationInfo) -> Any:
    if not isinstance(value, str) or not _REFERENCE.fullmatch(value):
        raise ValueError("secrets must be given as a ${ENV_VAR} reference, never literally")
    return substitute(value, info)


EnvStr = Annotated[str, BeforeValidator(substitute)]
"""A string that may contain ``${ENV_VAR}`` or ``${ENV_VAR:-default}``."""

Secret = Annotated[SecretStr, BeforeValidator(_secret_reference)]
"""A secret: only a ``${ENV_VAR}`` reference is accepted in the file."""


def http_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
    return value


def absolute_url(value: str) -> str:
    """An absolute http(s) URL without query or fragment; a trailing ``/`` is dropped so
    paths join cleanly."""
    http_url(value)
    if re.search(r"[\s?#]", value):
        raise ValueError(f"expected a URL without spaces, query or fragment, got {value!r}")
    return value.rstrip("/")


class Section(BaseModel):
    """A section of gateway.yaml: unknown keys are errors, values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def _duration(value: Any) -> Any:
    """``90``, ``"90s"``, ``"15m"``, ``"24h"``, ``"7d"`` as seconds."""
    if isinstance(value, str):
        match = _DURATION.fullmatch(value)
        if not match:
            raise ValueError(f"expected a duration like 90s, 15m, 24h or 7d, got {value!r}")
        return float(match.group(1)) * _UNIT_S[match.group(2)]
    return value


Duration = Annotated[float, BeforeValidator(_duration), Field(gt=0)]
