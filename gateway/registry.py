"""The operation registry, built from config: which adapters exist and what they offer.

A backend entry in ``gateway.yaml`` names an adapter module; the module's
``operations`` (an :class:`adapters.base.OperationSet`) are bound to that backend.
Catalog entries, with their JSON Schemas, are built once here, not per request.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from pathlib import Path

from adapters.base import Adapter, Operation, OperationSet
from adapters.http_auth import ClientCredentials
from adapters.odata import ODataAdapter, ODataClient, ODataSettings
from adapters.rest import RestAdapter, RestClient, RestSettings
from adapters.soap import SoapAdapter, SoapClient, SoapSettings
from adapters.soap_wsdl import WsdlSource
from gateway.config import (
    BackendConfig,
    BasicAuthConfig,
    BearerAuthConfig,
    Config,
    RestBackendConfig,
    SoapBackendConfig,
    WsSecurityAuthConfig,
)
from gateway.config.backends import (
    ApiKeyAuthConfig,
    OAuth2ClientCredentialsConfig,
    ODataBackendConfig,
    RestAuth,
)
from gateway.identity import operation_glob
from gateway.tool_names import ToolNames
from schemas.api import CatalogEntry


class RegistryError(Exception):
    """The configured backends cannot be assembled into a registry."""


class Registry:
    """Operations by name, the adapter serving each, their tool names and catalog entries.

    Raises :class:`RegistryError` for an operation two backends offer and
    :class:`~gateway.tool_names.ToolNameClash` for tool names agent hosts would refuse.
    """

    def __init__(self, adapters: Sequence[Adapter]) -> None:
        self.adapters: dict[str, Adapter] = {}
        self.operations: dict[str, Operation] = {}
        for adapter in adapters:
            self.adapters[adapter.name] = adapter
            for op in adapter.operations:
                if op.name in self.operations:
                    other = self.operations[op.name].backend
                    raise RegistryError(
                        f"operation {op.name!r} is offered by both {other!r} and {adapter.name!r}"
                    )
                self.operations[op.name] = op
        self.tool_names = ToolNames(self.operations)
        self.catalog: dict[str, CatalogEntry] = {
            name: _catalog_entry(op, self.tool_names.tool(name))
            for name, op in sorted(self.operations.items())
        }

    def adapter_for(self, operation: Operation) -> Adapter:
        return self.adapters[operation.backend]


def _catalog_entry(op: Operation, tool_name: str) -> CatalogEntry:
    return CatalogEntry(
        name=op.name,
        tool_name=tool_name,
        description=op.description,
        effect=op.effect,
        idempotent=op.idempotent,
        risk=op.risk,
        owner=op.owner,
        backend=op.backend,
        input_schema=op.input_model.model_json_schema(),
        output_schema=op.output_model.model_json_schema(mode="serialization"),
    )


def build_registry(config: Config) -> Registry:
    """Import each backend's adapter module and bind its operations to the backend."""
    registry = Registry([_build_adapter(name, b) for name, b in config.backends.items()])
    _check_names(config, registry.operations)
    return registry


def _build_adapter(name: str, backend: BackendConfig) -> Adapter:
    try:
        module = importlib.import_module(backend.adapter)
    except ImportError as exc:
        raise RegistryError(
            f"backends.{name}.adapter: cannot import module {backend.adapter!r}: {exc}"
        ) from exc
    operations = getattr(module, "operations", None)
    if not isinstance(operations, OperationSet):
        raise RegistryError(
            f"backends.{name}.adapter: module {backend.adapter!r} has no 'operations' OperationSet"
        )
    if isinstance(backend, SoapBackendConfig):
        soap_operations: OperationSet[SoapClient] = operations  # the module declares its kind
        return SoapAdapter(name, _soap_settings(backend), soap_operations)
    if isinstance(backend, ODataBackendConfig):
        odata_operations: OperationSet[ODataClient] = operations
        return ODataAdapter(name, _odata_settings(backend), odata_operations)
    rest_operations: OperationSet[RestClient] = operations  # the module declares its client kind
    return RestAdapter(name, _rest_settings(backend), rest_operations)


def _rest_settings(backend: RestBackendConfig) -> RestSettings:
    auth = backend.auth
    return RestSettings(
        base_url=backend.base_url,
        connect_timeout_s=backend.timeouts.connect_s,
        read_timeout_s=backend.timeouts.read_s,
        total_timeout_s=backend.timeouts.total_s,
        max_connections=backend.max_connections,
        max_response_bytes=backend.max_response_bytes,
        health_path=backend.health_path,
        headers=dict(backend.headers),
        bearer_token=auth.token.get_secret_value() if isinstance(auth, BearerAuthConfig) else None,
        basic_auth=(auth.username, auth.password.get_secret_value())
        if isinstance(auth, BasicAuthConfig)
        else None,
        api_key=(auth.header, auth.key.get_secret_value())
        if isinstance(auth, ApiKeyAuthConfig)
        else None,
        oauth2=_client_credentials(auth)
        if isinstance(auth, OAuth2ClientCredentialsConfig)
        else None,
        operation_timeouts=dict(backend.operation_timeouts_s),
        max_pages=backend.pagination.max_pages,
    )


def _odata_settings(backend: ODataBackendConfig) -> ODataSettings:
    bearer, basic, api_key, oauth2 = _http_auth(backend.auth)
    return ODataSettings(
        service_root=backend.service_root,
        version=backend.version,
        csrf=backend.csrf,
        max_pages=backend.pagination.max_pages,
        query=dict(backend.query),
        connect_timeout_s=backend.timeouts.connect_s,
        read_timeout_s=backend.timeouts.read_s,
        total_timeout_s=backend.timeouts.total_s,
        max_connections=backend.max_connections,
        max_response_bytes=backend.max_response_bytes,
        headers=dict(backend.headers),
        bearer_token=bearer,
        basic_auth=basic,
        api_key=api_key,
        oauth2=oauth2,
        operation_timeouts=dict(backend.operation_timeouts_s),
    )


def _http_auth(
    auth: RestAuth | None,
) -> tuple[str | None, tuple[str, str] | None, tuple[str, str] | None, ClientCredentials | None]:
    """(bearer token, basic credentials, API key, client credentials) of an auth entry."""
    if isinstance(auth, BearerAuthConfig):
        return auth.token.get_secret_value(), None, None, None
    if isinstance(auth, BasicAuthConfig):
        return None, (auth.username, auth.password.get_secret_value()), None, None
    if isinstance(auth, ApiKeyAuthConfig):
        return None, None, (auth.header, auth.key.get_secret_value()), None
    if isinstance(auth, OAuth2ClientCredentialsConfig):
        return None, None, None, _client_credentials(auth)
    return None, None, None, None


def _client_credentials(auth: OAuth2ClientCredentialsConfig) -> ClientCredentials:
    return ClientCredentials(
        token_url=auth.token_url,
        client_id=auth.client_id,
        client_secret=auth.client_secret.get_secret_value(),
        scope=auth.scope,
        audience=auth.audience,
        client_auth=auth.client_auth,
    )


def _soap_settings(backend: SoapBackendConfig) -> SoapSettings:
    auth = backend.auth
    wsse = (
        (auth.username, auth.password.get_secret_value(), auth.digest)
        if isinstance(auth, WsSecurityAuthConfig)
        else None
    )
    return SoapSettings(
        wsdl=WsdlSource(
            location=backend.wsdl,
            cache_path=Path(backend.wsdl_cache) if backend.wsdl_cache else None,
            cache_ttl_s=backend.wsdl_cache_ttl_s,
            timeout_s=backend.wsdl_load_timeout_s,
            service=backend.service,
            port=backend.port,
            soap_version=backend.soap_version,
            endpoint=backend.endpoint,
            ws_security=wsse,
        ),
        connect_timeout_s=backend.timeouts.connect_s,
        read_timeout_s=backend.timeouts.read_s,
        total_timeout_s=backend.timeouts.total_s,
        max_connections=backend.max_connections,
        max_response_bytes=backend.max_response_bytes,
        headers=dict(backend.headers),
        basic_auth=(auth.username, auth.password.get_secret_value())
        if isinstance(auth, BasicAuthConfig)
        else None,
        operation_timeouts=dict(backend.operation_timeouts_s),
    )


def _check_names(config: Config, operations: Mapping[str, Operation]) -> None:
    """Names in config that match nothing are typos that silently grant or tune nothing."""
    problems: list[str] = []
    for name, backend in config.backends.items():
        for op_name in backend.operation_timeouts_s:
            if operations.get(op_name) is None or operations[op_name].backend != name:
                problems.append(
                    f"backends.{name}.operation_timeouts_s: {op_name!r} is not an operation "
                    f"of this backend"
                )
    problems += _check_resilience_names(config, operations)
    for index, agent in enumerate(config.agents):
        for glob in agent.operations:
            if not any(operation_glob(glob).match(op_name) for op_name in operations):
                problems.append(
                    f"agents[{index}].operations: {glob!r} matches no operation "
                    f"(agent {agent.id!r})"
                )
    if problems:
        raise RegistryError("\n".join(problems))


def _check_resilience_names(config: Config, operations: Mapping[str, Operation]) -> list[str]:
    resilience = config.resilience
    agents = {agent.id for agent in config.agents}
    return [
        *(
            f"resilience.backends: {name!r} is not a configured backend"
            for name in resilience.backends
            if name not in config.backends
        ),
        *(
            f"resilience.operations: {name!r} is not an operation"
            for name in resilience.operations
            if name not in operations
        ),
        *(
            f"resilience.rate_limits.agents: {name!r} is not an agent"
            for name in resilience.rate_limits.agents
            if name not in agents
        ),
    ]
