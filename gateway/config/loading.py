"""Reading gateway.yaml: every problem reported as ``file:line: dotted.path: message``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gateway.config.primitives import ConfigError
from gateway.config.root import Config

DEFAULT_CONFIG_NAME = "<embedded default gateway.yaml>"


def default_config_text() -> str:
    return resources.files("gateway").joinpath("defaults/gateway.yaml").read_text("utf-8")


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Load ``path`` (or the embedded default) and raise :class:`ConfigError` listing
    every problem as ``file:line: dotted.path: message``."""
    if path is None:
        return parse_config(default_config_text(), DEFAULT_CONFIG_NAME, env)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [f"{path}: cannot read: {exc.strerror}"]) from exc
    return parse_config(text, str(path), env)


def parse_config(text: str, source: str, env: Mapping[str, str] | None = None) -> Config:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise ConfigError(source, [f"{where}: not valid YAML: {exc}"]) from exc
    if not isinstance(data, dict):
        raise ConfigError(source, [f"{source}:1: the file must hold a mapping of sections"])
    try:
        return Config.model_validate(data, context={"env": os.environ if env is None else env})
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            line = _line_of(node, loc)
            where = f"{source}:{line}" if line else source
            path = _dotted(loc) or "(top level)"
            problems.append(f"{where}: {path}: {error['msg']}")
        raise ConfigError(source, problems) from exc


_UNION_TAGS = frozenset(
    {
        "rest",
        "soap",
        "bearer",
        "basic",
        "ws_security",
        "api_key",
        "oauth2_client_credentials",
        "function-after[http_url(), str]",
        "function-after[_wsdl_location(), str]",
    }
)


def _dotted(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in _UNION_TAGS:
            continue  # pydantic's name for the union member or validator, not a place in the file
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the deepest YAML node that ``loc`` reaches."""
    line = node.start_mark.line + 1 if node is not None else None
    for item in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == item), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(item, int):
            match = node.value[item] if item < len(node.value) else None
        else:
            match = None
        if match is None:
            continue  # a union tag or a missing key: stay on the enclosing node
        node = match
        line = node.start_mark.line + 1
    return line
