"""Tool names that every model API and agent host accepts, and the way back.

Operation names are dotted (``warehouse.stock.get``). Model APIs accept only tool names
matching ``^[a-zA-Z0-9_-]{1,64}$`` (OpenAI, Anthropic; Claude Desktop checks it too), and
agent frameworks hand MCP tool names to the model unchanged, so a dotted name fails an
agent's first model request. Every face therefore names a tool by :func:`tool_name`: MCP
``tools/list``, the REST catalog's ``tool_name`` and every ``lastmile tools export``
format. The dotted name stays visible (MCP ``title`` and ``_meta``; the catalog's
``name``) and ``tools/call`` accepts either form.

The mapping replaces each dot with ``_``. Underscores are legal inside operation names,
so the string alone does not say where the dots were: the way back is the
:class:`ToolNames` table built from the registry, which refuses at start-up two
operations that would share one tool name (``a.b_c.get`` and ``a.b.c_get``) and a name
longer than 64 characters, rather than serve a list in which one name means two things.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.config import ConfigError
from schemas.patterns import TOOL_NAME, is_valid

MAX_LENGTH = 64


def tool_name(operation: str) -> str:
    """The tool name of the operation ``operation`` (dots become ``_``)."""
    return operation.replace(".", "_")


class ToolNameClash(ConfigError):
    """Operations whose tool names collide or break the hosts' rule; raised at start-up."""


class ToolNames:
    """Both directions between operation names and tool names, for one registry."""

    __slots__ = ("_operations", "_tools")

    def __init__(self, operations: Iterable[str]) -> None:
        self._tools: dict[str, str] = {}
        self._operations: dict[str, str] = {}
        problems: list[str] = []
        for operation in sorted(operations):
            name = tool_name(operation)
            if not is_valid(TOOL_NAME, name):
                problems.append(
                    f"operation {operation!r}: its tool name {name!r} has {len(name)} "
                    f"characters; agent hosts accept at most {MAX_LENGTH} of [a-zA-Z0-9_-]. "
                    f"Shorten the operation name"
                )
                continue
            other = self._operations.setdefault(name, operation)
            if other != operation:
                problems.append(
                    f"operations {other!r} and {operation!r} would share the tool name "
                    f"{name!r} (dots become '_'); rename one"
                )
                continue
            self._tools[operation] = name
        if problems:
            raise ToolNameClash("operations", problems)

    def tool(self, operation: str) -> str:
        """The tool name of a registered operation."""
        return self._tools[operation]

    def operation(self, name: str) -> str:
        """The operation a client means by ``name``: a tool name, or the dotted operation
        name itself. Anything else is returned unchanged, for the pipeline to refuse
        (and audit) as an unknown operation."""
        return self._operations.get(name, name)
