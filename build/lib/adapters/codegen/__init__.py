"""WSDL → pydantic models, an adapter module and a contract test (``lastmile adapter new``).

Pipeline of small steps, one module each: :mod:`loader` (safe parsing, imports and
includes), :mod:`xsd` (the type model), :mod:`schemaset` (reading schemas into it),
:mod:`wsdl` (operations), :mod:`naming`, :mod:`pytypes` (simple types), :mod:`modelplan`
(classes and fields), :mod:`emit_models`, :mod:`emit_adapter`, :mod:`samples` and
:mod:`emit_contract` (the generated files), :mod:`runtime` (what generated code calls).
"""

from adapters.codegen.generate import GeneratedAdapter, generate_adapter
from adapters.codegen.loader import GeneratorError, load_wsdl

__all__ = ["GeneratedAdapter", "GeneratorError", "generate_adapter", "load_wsdl"]
