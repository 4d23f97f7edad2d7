"""OpenAPI 3.0/3.1 and Swagger 2.0 → pydantic models, a REST adapter module and a
contract test (``lastmile adapter new --openapi``).

Small steps, one module each: :mod:`document` (safe loading, tolerant ``$ref``s and the
repairs report), :mod:`operations` (paths and methods, in either version),
:mod:`schemas` (JSON Schema into the shared class plans), :mod:`plan` (names and
guesses), :mod:`samples` (contract samples from the schemas), :mod:`emit_models`,
:mod:`emit_adapter` and :mod:`config_snippets` (the files). Generated code runs on
:mod:`adapters.openapi`.
"""

from adapters.codegen.openapi.generate import GeneratedOpenApiAdapter, generate_openapi_adapter

__all__ = ["GeneratedOpenApiAdapter", "generate_openapi_adapter"]
