"""``gateway.yaml`` parsed into pydantic models, with errors that point into the file.

Secrets never sit in the file: a secret field takes only a ``${ENV_VAR}`` reference,
resolved at load time. Other string fields that vary by deployment (URLs, paths)
may use ``${ENV_VAR}`` or ``${ENV_VAR:-default}`` too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from gateway.api.mcp.config import McpConfig
from gateway.connections.config import ConnectionsConfig
from gateway.resilience.config import ResilienceConfig, StateConfig
from gateway.tracing_config import TracingConfig

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


def _substitute(value: Any, info: ValidationInfo) -> Any:
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
    return _substitute(value, info)


EnvStr = Annotated[str, BeforeValidator(_substitute)]
"""A string that may contain ``${ENV_VAR}`` or ``${ENV_VAR:-default}``."""

Secret = Annotated[SecretStr, BeforeValidator(_secret_reference)]
"""A secret: only a ``${ENV_VAR}`` reference is accepted in the file."""


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
    return value


def _public_url(value: str) -> str:
    """An absolute http(s) URL without query or fragment; a trailing ``/`` is dropped so
    paths join cleanly."""
    _http_url(value)
    if re.search(r"[\s?#]", value):
        raise ValueError(f"expected a URL without spaces, query or fragment, got {value!r}")
    return value.rstrip("/")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Section):
    host: EnvStr = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    max_in_flight: int = Field(
        default=1024, ge=1, description="Operation calls served at once; more get 503 overloaded"
    )
    public_url: Annotated[EnvStr, AfterValidator(_public_url)] | None = Field(
        default=None,
        description="Where agents reach the gateway (behind a proxy, say); /openapi.json "
        "names it in servers. Unset: servers is [{url: /}], relative to the document.",
    )
    connections: ConnectionsConfig = ConnectionsConfig()


class TimeoutsConfig(_Section):
    connect_s: float = Field(default=2.0, gt=0, le=60)
    read_s: float = Field(default=10.0, gt=0, le=600)
    total_s: float = Field(default=15.0, gt=0, le=600)


class BearerAuthConfig(_Section):
    type: Literal["bearer"]
    token: Secret


class BasicAuthConfig(_Section):
    type: Literal["basic"]
    username: EnvStr
    password: Secret


class RestBackendConfig(_Section):
    """A legacy system reached over REST/JSON; ``adapter`` names the mapping module."""

    kind: Literal["rest"]
    adapter: str = Field(pattern=r"^[A-Za-z_][\w.]*$", description="Python module path")
    base_url: Annotated[EnvStr, AfterValidator(_http_url)]
    timeouts: TimeoutsConfig = TimeoutsConfig()
    operation_timeouts_s: dict[str, Annotated[float, Field(gt=0, le=600)]] = {}
    max_connections: int = Field(default=100, ge=1, le=10_000)
    max_response_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    health_path: str = "/"
    headers: dict[str, EnvStr] = {}
    auth: Annotated[BearerAuthConfig | BasicAuthConfig, Field(discriminator="type")] | None = None


class WsSecurityAuthConfig(_Section):
    """WS-Security UsernameToken in the SOAP header (``digest`` sends PasswordDigest)."""

    type: Literal["ws_security"]
    username: EnvStr
    password: Secret
    digest: bool = False


def _wsdl_location(value: str) -> str:
    if not re.match(r"^(https?://[^\s/]+|package:[A-Za-z_][\w.]*/\S+|[^:]+$)", value):
        raise ValueError(
            f"expected an http(s) URL, a file path or 'package:PACKAGE/FILE', got {value!r}"
        )
    return value


class SoapBackendConfig(_Section):
    """A legacy system reached over SOAP; the WSDL is loaded (and cached) at start-up."""

    kind: Literal["soap"]
    adapter: str = Field(pattern=r"^[A-Za-z_][\w.]*$", description="Python module path")
    wsdl: Annotated[EnvStr, AfterValidator(_wsdl_location)] = Field(
        description="WSDL URL, file path, or 'package:PACKAGE/FILE' for a file shipped in a "
        "Python package"
    )
    endpoint: Annotated[EnvStr, AfterValidator(_http_url)] | None = Field(
        default=None, description="Overrides the WSDL's soap:address"
    )
    service: str | None = Field(default=None, description="WSDL service; default: the first")
    port: str | None = Field(default=None, description="WSDL port; default: by soap_version")
    soap_version: Annotated[Literal["1.1", "1.2"], BeforeValidator(_substitute)] = "1.1"
    timeouts: TimeoutsConfig = TimeoutsConfig()
    operation_timeouts_s: dict[str, Annotated[float, Field(gt=0, le=600)]] = {}
    max_connections: int = Field(default=100, ge=1, le=10_000)
    max_response_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    headers: dict[str, EnvStr] = {}
    wsdl_cache: EnvStr | None = Field(
        default="lastmile-wsdl-cache.sqlite",
        description="SQLite file caching fetched WSDL/XSD documents across restarts; null disables",
    )
    wsdl_cache_ttl_s: int = Field(default=86_400, ge=1)
    wsdl_load_timeout_s: float = Field(default=10.0, gt=0, le=300)
    auth: Annotated[BasicAuthConfig | WsSecurityAuthConfig, Field(discriminator="type")] | None = (
        None
    )


BackendConfig = Annotated[RestBackendConfig | SoapBackendConfig, Field(discriminator="kind")]


class AgentConfig(_Section):
    """An agent: who it is, who answers for it, which operations it may call."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    owner: str = Field(min_length=1, description="Accountable team or person")
    team: str | None = None
    environment: str = "production"
    key_sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="SHA-256 hex digest of the agent's API key"
    )
    operations: list[str] = Field(
        min_length=1,
        description="Allow-list of operation names; '*' matches within and across dots",
    )
    may_see: list[str] = Field(
        default=[], description="sensitive field categories this agent may see unredacted"
    )
    revoked: bool = False


class StaffRole(StrEnum):
    """What a person may do at the gateway; agents never hold these roles."""

    APPROVER = "approver"  # decides on calls held for approval
    OPERATOR = "operator"  # halts and resumes traffic
    AUDITOR = "auditor"  # reads the audit trail, nothing else


class StaffConfig(_Section):
    """A person with their own key: approvers, operators, auditors."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._@-]{0,127}$")
    name: str = ""
    key_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    roles: list[StaffRole] = Field(
        description="What this person may do; [] keeps a known person with no powers "
        "(their key is recognised, every staff route answers 403)"
    )
    revoked: bool = False


class CheckpointConfig(_Section):
    """Signed checkpoints of the audit log; the key never enters the audit store.

    ``key`` (a ``${ENV_VAR}`` holding a PEM or base64 Ed25519 private key) or ``key_file``
    (a PEM file); with neither, each process signs with a fresh key and logs a warning.
    """

    key: Secret | None = None
    key_file: EnvStr | None = None
    create_key_file: bool = False  # make ``key_file`` (mode 0600) on first start if absent
    every_events: int = Field(default=1000, ge=1, le=1_000_000)
    every_s: float = Field(default=60.0, gt=0, le=86_400)


class RetentionConfig(_Section):
    """How long events are kept; ``days: null`` keeps them forever."""

    days: int | None = Field(default=None, ge=1)
    check_every_s: float = Field(default=3600.0, gt=0)


class AuditConfig(_Section):
    path: EnvStr = "lastmile-audit.sqlite"
    checkpoints: CheckpointConfig = CheckpointConfig()
    retention: RetentionConfig = RetentionConfig()

    @model_validator(mode="after")
    def _one_key_source(self) -> AuditConfig:
        if self.checkpoints.key is not None and self.checkpoints.key_file is not None:
            raise ValueError("give checkpoints.key or checkpoints.key_file, not both")
        if self.checkpoints.key_file is not None and Path(self.checkpoints.key_file) == Path(
            self.path
        ):
            raise ValueError("the signing key must not live in the audit store")
        return self


class LoggingConfig(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"


class Config(_Section):
    server: ServerConfig = ServerConfig()
    backends: dict[str, BackendConfig] = Field(min_length=1)
    agents: list[AgentConfig] = []
    staff: list[StaffConfig] = []
    audit: AuditConfig = AuditConfig()
    logging: LoggingConfig = LoggingConfig()
    tracing: TracingConfig = TracingConfig()
    guardrails: GuardrailsConfig = Field(default_factory=lambda: GuardrailsConfig())
    state: StateConfig = StateConfig()
    resilience: ResilienceConfig = ResilienceConfig()
    mcp: McpConfig = McpConfig()

    @model_validator(mode="after")
    def _unique_identities(self) -> Config:
        """Ids are unique per kind; a key belongs to exactly one agent or person."""
        seen_keys: set[str] = set()
        for kind, holders in (("agent", self.agents), ("staff member", self.staff)):
            seen_ids: set[str] = set()
            for holder in holders:
                if holder.id in seen_ids:
                    raise ValueError(f"{kind} id {holder.id!r} appears twice")
                if holder.key_sha256 in seen_keys:
                    raise ValueError(f"{kind} {holder.id!r} shares its key with another holder")
                seen_ids.add(holder.id)
                seen_keys.add(holder.key_sha256)
        return self


from gateway.guardrails.config import GuardrailsConfig  # noqa: E402 - it builds on EnvStr

Config.model_rebuild()

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
        "function-after[_http_url(), str]",
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
