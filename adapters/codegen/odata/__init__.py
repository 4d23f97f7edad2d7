"""The OData generator: CSDL ``$metadata`` (V2 and V4) → a generated adapter package."""

from adapters.codegen.odata.generate import GeneratedODataAdapter, generate_odata_adapter

__all__ = ["GeneratedODataAdapter", "generate_odata_adapter"]
