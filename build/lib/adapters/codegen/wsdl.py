"""The operations a WSDL offers: port type operations with their body parts and docs.

One operation per ``portType/operation``: SAP publishes the same operation through a
SOAP 1.1 and a SOAP 1.2 binding, and both are one capability for an agent. Parts bound
as SOAP headers (NetSuite's passport and preferences) are not part of the payload.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from adapters.codegen.loader import WSDL_NS, XSD_NS, LoadedWsdl
from adapters.codegen.schemaset import SchemaSet
from adapters.codegen.xsd import ElementUse, qname_tag, resolve_qname

SOAP_BINDING_NAMESPACES = (
    "http://schemas.xmlsoap.org/wsdl/soap/",
    "http://schemas.xmlsoap.org/wsdl/soap12/",
)


@dataclass(slots=True)
class ServiceOperation:
    """A WSDL operation, with its request and reply body parts as element uses."""

    name: str
    port: str
    documentation: str
    input: list[ElementUse] = field(default_factory=list)
    output: list[ElementUse] = field(default_factory=list)
    reply_headers: bool = False  # the reply binds SOAP headers: zeep returns the envelope


def _w(local: str) -> str:
    return f"{{{WSDL_NS}}}{local}"


def wsdl_documentation(element: etree._Element) -> str:
    found = element.find(_w("documentation"))
    return " ".join("".join(found.itertext()).split()) if found is not None else ""


def service_name(loaded: LoadedWsdl) -> str:
    """The first service's (or port type's) name, for the generated module's docstring."""
    for definitions in loaded.definitions:
        for kind in ("service", "portType"):
            found = definitions.find(_w(kind))
            if found is not None and found.get("name"):
                return found.get("name", "")
    return "service"


def read_operations(loaded: LoadedWsdl, schemas: SchemaSet) -> list[ServiceOperation]:
    messages: dict[str, etree._Element] = {}
    headers: set[tuple[str, str]] = set()
    reply_headers: set[tuple[str, str]] = set()
    for definitions in loaded.definitions:
        namespace = definitions.get("targetNamespace", "")
        for message in definitions.iterfind(_w("message")):
            messages[qname_tag(namespace, message.get("name", ""))] = message
        _bound_headers(definitions, headers, reply_headers)
    operations: list[ServiceOperation] = []
    seen: set[tuple[str, str]] = set()
    for definitions in loaded.definitions:
        for port in definitions.iterfind(_w("portType")):
            port_name = port.get("name", "")
            for op in port.iterfind(_w("operation")):
                key = (port_name, op.get("name", ""))
                if key in seen:
                    continue
                seen.add(key)
                operations.append(
                    ServiceOperation(
                        name=op.get("name", ""),
                        port=port_name,
                        documentation=wsdl_documentation(op),
                        input=_parts(op.find(_w("input")), messages, headers, schemas),
                        output=_parts(op.find(_w("output")), messages, headers, schemas),
                        reply_headers=key in reply_headers,
                    )
                )
    return operations


def _bound_headers(
    definitions: etree._Element,
    headers: set[tuple[str, str]],
    reply_headers: set[tuple[str, str]],
) -> None:
    """Collect the message parts bound as SOAP headers, and the (port type, operation)
    pairs whose reply binds any: zeep then returns the whole envelope, not the body."""
    for binding in definitions.iterfind(_w("binding")):
        port = binding.get("type", "").rpartition(":")[2]
        for op in binding.iterfind(_w("operation")):
            for io in op:
                for node in io if isinstance(io.tag, str) else ():
                    if not isinstance(node.tag, str) or etree.QName(node).localname != "header":
                        continue
                    if etree.QName(node).namespace not in SOAP_BINDING_NAMESPACES:
                        continue
                    message = resolve_qname(node, node.get("message", ""))
                    headers.add((message, node.get("part", "")))
                    if io.tag == _w("output"):
                        reply_headers.add((port, op.get("name", "")))


def _parts(
    io: etree._Element | None,
    messages: dict[str, etree._Element],
    headers: set[tuple[str, str]],
    schemas: SchemaSet,
) -> list[ElementUse]:
    if io is None or not io.get("message"):
        return []
    message_name = resolve_qname(io, io.get("message", ""))
    message = messages.get(message_name)
    if message is None:
        return []
    parts: list[ElementUse] = []
    for part in message.iterfind(_w("part")):
        name = part.get("name", "")
        if (message_name, name) in headers:
            continue
        if part.get("element"):
            element = schemas.global_element(resolve_qname(part, part.get("element", "")))
            parts.append(element)
        else:
            type_ = resolve_qname(part, part.get("type", "")) if part.get("type") else ""
            parts.append(ElementUse(name=name, type=type_ or f"{{{XSD_NS}}}string"))
    return parts
