"""What generated adapter modules call at run time: small, dependency-free helpers.

Generated models enforce ``xs:choice`` with :func:`check_choice`; generated handlers
turn zeep's reply into a mapping with :func:`reply_mapping`. Keeping these here rather
than in every generated file means a fix reaches all generated adapters at once.

Generated models also take pydantic's names from here: their imports are then one block
of ours, sorted the same whether or not ruff counts ``adapters`` as first-party (in a
clone it does; beside it, it does not, and a ``pydantic`` block would move).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    model_validator,
)

from adapters.base import REPLY_CONTEXT
from schemas.errors import ContractViolation

__all__ = [
    "BeforeValidator",
    "ConfigDict",
    "Field",
    "PlainSerializer",
    "check_choice",
    "model_validator",
    "reply_mapping",
    "xml_text",
]


def xml_text(value: Any, info: ValidationInfo) -> Any:
    """An empty XML element is the empty string; zeep reads it as None. Only in a reply
    (the gateway validates answers with :data:`REPLY_CONTEXT` set): agents' input stays
    strict, where null is not a string."""
    if value is None and isinstance(info.context, Mapping) and info.context.get(REPLY_CONTEXT):
        return ""
    return value


def check_choice(
    model: BaseModel, branches: tuple[tuple[str, ...], ...], *, required: bool, single: bool
) -> None:
    """Enforce an ``xs:choice``: at most one branch present (``single``), one if ``required``.

    A branch is present when any of its fields is set. The message names fields as the
    schema does (their aliases), not by their Python names. Raising ``ValueError`` inside a
    model validator makes pydantic report it as a validation error on the model.
    """
    present = [b for b in branches if any(getattr(model, name) is not None for name in b)]
    fields = type(model).model_fields
    options = " | ".join("+".join(fields[n].alias or n for n in branch) for branch in branches)
    if single and len(present) > 1:
        raise ValueError(f"give only one of the choice ({options}), not several")
    if required and not present:
        raise ValueError(f"give one of the choice ({options})")


def reply_mapping(
    reply: Any, unwrapped: Sequence[str] = (), *, envelope: bool = False
) -> Mapping[str, Any]:
    """The reply body as the output model's mapping, undoing zeep's reshaping of replies.

    zeep answers the only child of a reply element instead of the element itself, and
    the only element of that child if it has no other content (``Read`` answers the
    ``Customer``; NAV ``CreateMultiple`` the list inside ``Customer_List``); ``unwrapped``
    is that path, and the wrappers are put back. When the reply binds SOAP headers
    (NetSuite's ``documentInfo``), zeep returns ``{"header": ..., "body": ...}`` with the
    reply element's content as the body, and unwraps nothing; ``envelope`` says so.
    """
    if envelope and isinstance(reply, Mapping) and "body" in reply:
        reply = reply["body"]
    if unwrapped:
        # zeep stops unwrapping at a missing child: None belongs to the first level.
        path = unwrapped[:1] if reply is None else unwrapped
        for name in reversed(path):
            reply = {name: reply}
        return dict(reply)
    if reply is None:
        return {}
    if not isinstance(reply, Mapping):
        raise ContractViolation(
            f"The backend's reply body is a {type(reply).__name__}, not a record of fields."
        )
    return reply
