"""The adapter contract: what the gateway needs from any connection to a system of record.

An adapter is as small as an httpx transport: it starts, it closes, it says whether
its backend is reachable, and it executes an :class:`Operation` with an already
validated input, returning the answer in the canonical shape. It knows nothing of
agents, policy, HTTP-in or audit; the pipeline owns those.

Integration engineers declare operations with an :class:`OperationSet`; the handler's
docstring is the description agents read, so write it for an LLM.

Writes whose outcome can be unknown (the backend timed out after the request was sent)
need two things from the adapter so the gateway never re-sends them blindly: the
handler attaches the call's *backend key* to the write where the system allows it (an
external reference field; ``external_reference=True``), and a *lookup* registered with
:meth:`OperationSet.lookup` finds the write by that key. The gateway looks before any
re-send; a write found is answered from the lookup.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

from schemas.api import BackendReadiness
from schemas.common import Effect, Risk
from schemas.errors import BackendTimeout

Canonical = Mapping[str, Any]
"""An answer in the canonical shape of the output model, not yet validated.

Values may still be in their wire form (decimals as strings); the pipeline validates
the mapping against the output model and turns any mismatch into a contract violation.
"""

ClientT = TypeVar("ClientT", contravariant=True)
InputT = TypeVar("InputT", bound=BaseModel)
T = TypeVar("T")
ServedClientT = TypeVar("ServedClientT")  # invariant: an adapter both makes and hands it
Handler = Callable[[ClientT, InputT], Awaitable[Canonical]]
StateReader = Callable[[ClientT, InputT], Awaitable[tuple[Canonical, Canonical]]]
"""Reads the current state a write would change: ``(before, after)`` for a dry run."""
Finder = Callable[[ClientT, InputT, str], Awaitable[Canonical | None]]

REPLY_CONTEXT = "lastmile.reply"
"""Key of the pydantic validation context the gateway sets (to True) when it validates a
backend's answer against an output model, so a model can read wire conventions that
only hold in replies (an empty XML element is the empty string)."""

_OPERATION_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){2,}$")


@dataclass(frozen=True, slots=True)
class Operation:
    """A named capability of a system of record, as agents see it in the catalog."""

    name: str
    description: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    effect: Effect
    idempotent: bool
    risk: Risk
    owner: str
    backend: str = ""
    timeout_s: float | None = None
    external_reference: bool = False  # the handler attaches the backend key to the write
    lookup: bool = False  # a finder can look the write up by that key
    reference_field: str | None = None  # output field naming the document a write created

    def bound_to(self, backend: str, timeout_s: float | None) -> Operation:
        """The same operation, served by the named backend with its timeout."""
        return replace(self, backend=backend, timeout_s=timeout_s)


@dataclass(frozen=True, slots=True)
class DeclaredOperation(Generic[ClientT]):
    operation: Operation
    handler: Handler[ClientT, Any]
    finder: Finder[ClientT, Any] | None = None


class OperationSet(Generic[ClientT]):
    """The operations one adapter module offers, declared with :meth:`operation`.

    ``ClientT`` is what the adapter kind hands each handler (for REST, a client bound
    to the backend's base URL, credentials and the call's timeout).
    """

    def __init__(self) -> None:
        self._declared: dict[str, DeclaredOperation[ClientT]] = {}
        self._state_readers: dict[str, StateReader[ClientT, Any]] = {}

    def operation(
        self,
        name: str,
        *,
        input: type[InputT],  # noqa: A002 - reads best at the declaration site
        output: type[BaseModel],
        effect: Effect,
        idempotent: bool,
        risk: Risk,
        owner: str,
        external_reference: bool = False,
        reference_field: str | None = None,
    ) -> Callable[[Handler[ClientT, InputT]], Handler[ClientT, InputT]]:
        """Declare an operation. ``external_reference=True`` says the handler attaches the
        gateway's backend key (the client's ``external_reference``) to the write;
        ``reference_field`` names the output field that identifies what a write created
        (a document number), which the audit trail records as the backend reference."""
        if reference_field is not None and reference_field not in output.model_fields:
            raise ValueError(f"{name!r}: {output.__name__} has no field {reference_field!r}")
        if not _OPERATION_NAME.match(name):
            raise ValueError(f"operation name {name!r} must look like 'domain.resource.verb'")
        if name in self._declared:
            raise ValueError(f"operation {name!r} is declared twice")

        def register(handler: Handler[ClientT, InputT]) -> Handler[ClientT, InputT]:
            description = inspect.getdoc(handler)
            if not description:
                raise ValueError(f"operation {name!r} needs a docstring: it is what agents read")
            op = Operation(name, description, input, output, effect, idempotent, risk, owner)
            op = replace(op, external_reference=external_reference, reference_field=reference_field)
            self._declared[name] = DeclaredOperation(op, handler)
            return handler

        return register

    def lookup(self, name: str) -> Callable[[Finder[ClientT, InputT]], Finder[ClientT, InputT]]:
        """Register ``async def find(client, request, key) -> Canonical | None`` for the
        write ``name``: the write made with backend key ``key``, in the operation's output
        shape, or None if the system has no such write."""

        def register(finder: Finder[ClientT, InputT]) -> Finder[ClientT, InputT]:
            declared = self._declared.get(name)
            if declared is None:
                raise ValueError(f"declare operation {name!r} before its lookup")
            if not declared.operation.external_reference:
                raise ValueError(f"operation {name!r} must attach an external reference")
            self._declared[name] = DeclaredOperation(
                replace(declared.operation, lookup=True), declared.handler, finder
            )
            return finder

        return register

    def __iter__(self) -> Iterator[DeclaredOperation[ClientT]]:
        return iter(self._declared.values())

    def handler(self, name: str) -> Handler[ClientT, Any]:
        return self._declared[name].handler

    def before_after(
        self, name: str
    ) -> Callable[[StateReader[ClientT, InputT]], StateReader[ClientT, InputT]]:
        """Declare how a dry run of write ``name`` reads the state before and after it."""

        def register(reader: StateReader[ClientT, InputT]) -> StateReader[ClientT, InputT]:
            if name not in self._declared:
                raise ValueError(f"declare operation {name!r} before its state reader")
            self._state_readers[name] = reader
            return reader

        return register

    def state_reader(self, name: str) -> StateReader[ClientT, Any] | None:
        return self._state_readers.get(name)

    def finder(self, name: str) -> Finder[ClientT, Any] | None:
        return self._declared[name].finder


class ServedOperations(Generic[ServedClientT]):
    """What every adapter kind shares: the operation set it serves, bound to its backend
    with per-operation timeouts, and how a call or a lookup reaches its handler within
    that timeout. A kind adds how it connects (``start``/``close``/``check``) and what
    client a handler gets (``client``)."""

    def __init__(
        self,
        name: str,
        operations: OperationSet[ServedClientT],
        total_timeout_s: float,
        operation_timeouts: Mapping[str, float],
    ) -> None:
        self._name = name
        self._set = operations
        self._total_timeout_s = total_timeout_s
        self._operations = tuple(
            d.operation.bound_to(name, operation_timeouts.get(d.operation.name, total_timeout_s))
            for d in operations
        )

    @property
    def name(self) -> str:
        return self._name

    @property
    def operations(self) -> Sequence[Operation]:
        return self._operations

    def client(self, total_s: float, external_reference: str | None = None) -> ServedClientT:
        """The client a handler gets for one call, bounded by ``total_s``."""
        raise NotImplementedError

    def timeout_of(self, operation: Operation) -> float:
        return operation.timeout_s or self._total_timeout_s

    async def call(
        self, operation: Operation, payload: BaseModel, *, backend_key: str | None = None
    ) -> Canonical:
        total = self.timeout_of(operation)
        handler = self._set.handler(operation.name)
        return await within(total, handler(self.client(total, backend_key), payload))

    async def lookup(
        self, operation: Operation, payload: BaseModel, backend_key: str
    ) -> Canonical | None:
        """The write made earlier with ``backend_key``, through the operation's finder."""
        finder = self._set.finder(operation.name)
        if finder is None:
            return None
        total = self.timeout_of(operation)
        return await within(total, finder(self.client(total, backend_key), payload, backend_key))


class StartupFailed(Exception):
    """An adapter cannot serve its backend (e.g. its WSDL cannot be loaded).

    Raised by :meth:`Adapter.start`; the message names what failed and why, and the
    gateway refuses to start rather than serve a backend it cannot describe.
    """


class Adapter(Protocol):
    """Owns the connection to one system of record and executes its operations."""

    @property
    def name(self) -> str: ...

    @property
    def operations(self) -> Sequence[Operation]: ...

    async def start(self) -> None:
        """Open connections and load what the backend needs; fail loudly if it cannot."""

    async def close(self) -> None: ...

    async def check(self) -> BackendReadiness:
        """Whether the backend answers now; cheap, bounded by a short timeout."""

    async def call(
        self, operation: Operation, payload: BaseModel, *, backend_key: str | None = None
    ) -> Canonical:
        """Execute one validated call; raise a ``schemas.errors.BackendError`` on failure.

        ``backend_key`` (for operations with ``external_reference``) is attached to the
        write so that :meth:`lookup` can find it."""

    async def lookup(
        self, operation: Operation, payload: BaseModel, backend_key: str
    ) -> Canonical | None:
        """The write made with ``backend_key``, or None (operations with ``lookup``)."""


@dataclass(frozen=True, slots=True)
class BackendPreview:
    """What a call would send to the backend, without sending it (a dry run).

    ``request`` is the mapped backend request (for REST: method, path, query, JSON body);
    ``before`` and ``after`` show the state a write would change, where the adapter can
    read it.
    """

    request: Mapping[str, Any] | None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None


@runtime_checkable
class Previewing(Protocol):
    """Optional part of the adapter contract: render a call without making it.

    Reads the adapter needs to build the request (or the before/after state) may be
    sent; a write never is.
    """

    async def preview(self, operation: Operation, payload: BaseModel) -> BackendPreview: ...


async def within(total_s: float, work: Awaitable[T]) -> T:
    """``work``, bounded by the operation's total timeout: a hard stop over however many
    backend requests a handler makes, reported as the gateway's ``timeout``."""
    try:
        async with asyncio.timeout(total_s):
            return await work
    except TimeoutError as exc:
        raise BackendTimeout(f"The backend did not answer within {total_s:g} s.") from exc


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\ud800-\udfff]")


def safe_text(text: object, limit: int = 300) -> str:
    """A backend message made safe to pass on to an LLM or a log line.

    Control characters are dropped, line breaks folded and the text bounded, so a
    hostile backend cannot forge log lines or flood an agent's context. Lone surrogates
    (how Python decodes header bytes that are not UTF-8) are dropped too: they cannot be
    encoded, so one in a problem document or a log line would turn an answer into a 500.
    """
    cleaned = _CONTROL.sub("", str(text)).replace("\r", " ").replace("\n", " ").strip()
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
