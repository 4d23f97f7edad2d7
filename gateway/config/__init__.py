"""gateway.yaml as typed models: primitives, one module per section, and the loader.

``from gateway.config import Config, load_config`` is what most code needs; section
models are imported from their own modules (``gateway.config.resilience`` ...).
"""

from __future__ import annotations

from gateway.config.audit import AuditConfig, CheckpointConfig, RetentionConfig
from gateway.config.backends import (
    BasicAuthConfig,
    BearerAuthConfig,
    RestBackendConfig,
    SoapBackendConfig,
    TimeoutsConfig,
    WsSecurityAuthConfig,
)
from gateway.config.identity import AgentConfig, StaffConfig, StaffRole
from gateway.config.loading import (
    DEFAULT_CONFIG_NAME,
    default_config_text,
    load_config,
    parse_config,
)
from gateway.config.observability import LoggingConfig, TracingConfig
from gateway.config.oidc import OidcConfig
from gateway.config.primitives import ConfigError, Duration, EnvStr, Secret, Section
from gateway.config.root import BackendConfig, Config
from gateway.config.server import ServerConfig

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "AgentConfig",
    "AuditConfig",
    "BackendConfig",
    "BasicAuthConfig",
    "BearerAuthConfig",
    "CheckpointConfig",
    "Config",
    "ConfigError",
    "Duration",
    "EnvStr",
    "LoggingConfig",
    "OidcConfig",
    "RestBackendConfig",
    "RetentionConfig",
    "Secret",
    "Section",
    "ServerConfig",
    "SoapBackendConfig",
    "StaffConfig",
    "StaffRole",
    "TimeoutsConfig",
    "TracingConfig",
    "WsSecurityAuthConfig",
    "default_config_text",
    "load_config",
    "parse_config",
]
