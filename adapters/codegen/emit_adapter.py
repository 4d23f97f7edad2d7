"""Render the adapter module: one declared operation per WSDL operation.

Each operation is named ``<name>.<resource>.<verb>``: the resource from the port type
(``Customer_Port`` → ``customer``) and the verb from the WSDL operation
(``ReadMultiple`` → ``read_multiple``), so names are predictable and unique.

Read or write is guessed from the operation's verb (see :data:`READ_VERBS`); a wrong
guess is costly either way (a write marked read escapes approvals), so every guess
carries a ``# TODO confirm`` for the engineer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapters.codegen.emit_models import docstring, plain_text
from adapters.codegen.modelplan import OperationModels
from adapters.codegen.naming import Names, identifier_words, words
from adapters.codegen.pytypes import py_string
from adapters.codegen.wsdl import ServiceOperation

READ_VERBS = frozenset(
    {"get", "read", "search", "list", "find", "query", "is", "has", "check", "fetch", "lookup",
     "count", "exists", "exist", "describe", "display", "getlist", "getdetail", "getstatus",
     "select", "retrieve", "view", "browse"}
)  # fmt: skip
DESTRUCTIVE_VERBS = frozenset({"delete", "remove", "cancel", "void", "purge", "detach"})
_PORT_SUFFIX = re.compile(r"(_?(port_?type|port|service|soap|binding|endpoint|ws))+$")


@dataclass(frozen=True, slots=True)
class Classification:
    effect: str  # "READ" or "WRITE", the Effect member
    verb: str

    @property
    def risk(self) -> str:
        if self.effect == "READ":
            return "LOW"
        return "HIGH" if self.verb in DESTRUCTIVE_VERBS else "MEDIUM"


def classify(operation: str) -> Classification:
    """Read if the operation's verb reads (``GetRecIdFromKey``, ``BAPI_X_GETLIST``), else write.

    The verb is the first word, or for SAP-style ``UPPER_CASE`` names the last one
    (``BAPI_SALESORDER_CREATE``). Anything not recognised is a write: the safe default.
    """
    parts = [w.lower() for w in words(operation)]
    if not parts:
        return Classification("WRITE", "")
    sap_style = operation.isupper() and "_" in operation
    verb = parts[-1] if sap_style else parts[0]
    if sap_style and verb not in READ_VERBS and parts[0] in READ_VERBS:
        verb = parts[0]
    return Classification("READ" if verb in READ_VERBS else "WRITE", verb)


def resource_name(port: str) -> str:
    resource = _PORT_SUFFIX.sub("", identifier_words(port)).strip("_")
    return resource or "service"


def operation_names(name: str, ops: list[OperationModels]) -> list[str]:
    """``<name>.<resource>.<verb>`` for each operation, in order, made unique."""
    used: set[str] = set()
    names: list[str] = []
    for models in ops:
        op = models.operation
        op_name = f"{name}.{resource_name(op.port)}.{identifier_words(op.name)}"
        while op_name in used:
            op_name += "_2"
        used.add(op_name)
        names.append(op_name)
    return names


def render_adapter(name: str, owner: str, title: str, ops: list[OperationModels]) -> str:
    functions = Names({"operations", "reply_mapping", "client"})
    imports = sorted({m.input.name for m in ops} | {m.output.name for m in ops})
    lines = [
        *docstring(
            f"The {title} operations, generated from its WSDL by `lastmile adapter new`. "
            "Review every `# TODO confirm` (read or write, risk, owner) and each docstring, "
            "which is what agents read, before putting this module behind the gateway.",
            "",
        ),
        "",
        "from __future__ import annotations",
        "",
        "from adapters.base import Canonical, OperationSet",
        "from adapters.codegen.runtime import reply_mapping",
        "from adapters.soap import SoapClient",
        "from schemas.common import Effect, Risk",
        "",
        "from .models import (",
        *(f"    {model}," for model in imports),
        ")",
        "",
        "operations: OperationSet[SoapClient] = OperationSet()",
    ]
    for models, op_name in zip(ops, operation_names(name, ops), strict=True):
        op = models.operation
        kind = classify(op.name)
        function = functions.take(identifier_words(op.name))
        description = plain_text(op.documentation) or (
            f"Calls the {op.name} operation of the {op.port} port type."
        )
        unwrapped = _tuple(models.unwrapped_output)
        dump = "**payload.model_dump(by_alias=True, exclude_unset=True)"
        call = f"reply = await client.call({py_string(op.name)}, {dump})"
        signature = (
            f"async def {function}(client: SoapClient, payload: {models.input.name}) -> Canonical:"
        )
        lines += [
            "",
            "",
            "@operations.operation(",
            f"    {py_string(op_name)},",
            f"    input={models.input.name},",
            f"    output={models.output.name},",
            f"    effect=Effect.{kind.effect},  # TODO confirm: verb {py_string(kind.verb)}",
            f"    idempotent={kind.effect == 'READ'},  # TODO confirm",
            f"    risk=Risk.{kind.risk},  # TODO confirm",
            f"    owner={py_string(owner)},  # TODO confirm",
            ")",
            *(
                [signature]
                if len(signature) <= 100
                else [
                    f"async def {function}(",
                    f"    client: SoapClient, payload: {models.input.name}",
                    ") -> Canonical:",
                ]
            ),
            *docstring(description, "    "),
            *(
                [f"    {call}"]
                if len(call) <= 96
                else [
                    "    reply = await client.call(",
                    f"        {py_string(op.name)}, {dump}",
                    "    )",
                ]
            ),
            *_return_line(unwrapped, op),
        ]
    return "\n".join(_fit(line) for line in lines) + "\n"


def _tuple(names: tuple[str, ...]) -> str:
    if len(names) == 1:
        return f"({py_string(names[0])},)"
    return f"({', '.join(py_string(n) for n in names)})"


def _return_line(unwrapped: str, op: ServiceOperation) -> list[str]:
    args = [f"unwrapped={unwrapped}"] if unwrapped != "()" else []
    if op.reply_headers:
        args.append("envelope=True")
    line = f"    return reply_mapping({', '.join(['reply', *args])})"
    if len(line) <= 100:
        return [line]
    return [
        "    return reply_mapping(",
        "        reply,",
        *(f"        {a}," for a in args),
        "    )",
    ]


def _fit(line: str) -> str:
    if len(line) <= 100 or "\n" in line:
        return line
    return line if "# TODO" not in line else line[: line.index("  # TODO")] + "  # TODO confirm"
