"""aiohttp's connection protocol with the read deadlines it lacks, and the cap.

aiohttp closes a keep-alive connection after ``keepalive_timeout`` (the runner passes
``idle_s``), but waits for a request head, and for a request body, as long as the
client likes. :class:`GuardedRequestHandler` keeps one timer per connection:

- *head*: runs from the connection's opening, and for each later request from its
  first byte (a head that arrives whole in one read never needs a timer); the complete
  head must arrive before it fires, however the bytes drip. On expiry a
  connection that had sent part of a head gets 408 ``request_timeout``; one that sent
  nothing is just closed, as an idle one is, since an answer nobody asked for on a
  pooled connection could be taken for the answer to the client's next request. A
  pipelined head that stalls behind a request still being handled closes the
  connection once that answer is sent, since a 408 cannot cut into it.
- *body*: armed when a head with a body is parsed, disarmed when the body ends. On
  expiry the body's reader fails with :class:`~schemas.errors.RequestTimeout`, so the
  handler waiting for it answers 408 through the ordinary error path (the pipeline
  records the refused call), and the connection is closed after that answer. If the
  handler had answered without reading the body, the connection is closed at once.

While a request is being handled no timer runs: backend timeouts bound that time.

The cap: a connection beyond ``max_open`` never reaches aiohttp; it gets 503
``overloaded`` with ``Retry-After`` and is closed. Answering costs one short write and
tells a client to back off; closing without a word would look like a network fault
and invite an immediate retry.

aiohttp has no hook for "a request head was parsed", so the handler looks at its
queue of parsed messages (``_messages``) around ``data_received``; the tests in
tests/gateway/connections pin this against the aiohttp in constraints.txt. The
gateway serves no WebSocket routes; an upgraded connection would need its timers off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any, cast

from aiohttp import StreamReader, web
from aiohttp.web_request import BaseRequest

from gateway.connections import answers
from gateway.connections.budget import ConnectionBudget
from gateway.connections.gate import ConnectionGate
from gateway.connections.lingering import LingeringClose
from schemas.errors import RequestTimeout


class GuardedRequestHandler(web.RequestHandler):
    """One client connection, with head and body deadlines and a place under the cap."""

    __slots__ = (
        "_answered",
        "_body",
        "_budget",
        "_expired",
        "_gate",
        "_head_since",
        "_timer",
        "_unanswered",
    )

    def __init__(
        self, manager: web.Server, *, gate: ConnectionGate, budget: ConnectionBudget, **kw: Any
    ) -> None:
        super().__init__(manager, **kw)
        self._gate = gate
        self._budget = budget
        self._timer: asyncio.TimerHandle | None = None
        self._head_since: float | None = None  # when the pending request head began
        self._body: StreamReader | None = None  # the body being awaited
        self._expired: StreamReader | None = None  # a body whose deadline passed
        self._answered: StreamReader | None = None  # the body of the last answered request
        self._unanswered = 0  # requests parsed and not yet answered

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._gate.admit():
            answer = answers.overloaded(self._gate.limit)
            farewell = LingeringClose(self._gate, self._budget.linger_s)
            farewell.take_over(cast(asyncio.Transport, transport), answer)
            return
        super().connection_made(transport)
        self._arm_at(self._now() + self._budget.header_s, self._head_late)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm()
        self._gate.release()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if data and self._body is None and self._head_since is None:
            self._head_since = self._now()  # the first byte of a request head
        last = self._messages[-1] if self._messages else None
        super().data_received(data)
        if self._messages and self._messages[-1] is not last:
            self._head_arrived(self._messages[-1][1])
        elif self._head_since is not None and self._timer is None:
            # the head is incomplete: only now pay for a timer (most heads come whole)
            self._arm_at(self._head_since + self._budget.header_s, self._head_late)

    async def finish_response(
        self, request: BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        finished = await super().finish_response(request, resp, start_time)
        self._unanswered -= 1
        if request.content is self._expired:
            self._close_with(b"")  # the 408 is written; the rest of the body is not wanted
        else:
            self._answered = request.content
        return finished

    def _head_arrived(self, body: StreamReader) -> None:
        self._disarm()
        self._head_since = None
        self._unanswered += 1
        if not body.is_eof():
            self._body = body
            self._arm_at(self._now() + self._budget.body_s, self._body_late)
            body.on_eof(partial(self._body_ended, body))

    def _body_ended(self, body: StreamReader) -> None:
        if self._body is body:
            self._body = None
            self._disarm()

    def _head_late(self) -> None:
        self._timer = None
        if self._unanswered:  # a pipelined head stalled behind a request still being
            self.close()  # handled: no 408 across that answer; close once it is sent
        elif self._head_since is not None:
            self._close_with(answers.head_too_slow(self._budget.header_s))
        else:
            self.force_close()

    def _body_late(self) -> None:
        self._timer = None
        body, self._body = self._body, None
        if body is None:
            return
        if body is self._answered:  # answered already; aiohttp was draining the rest
            self.force_close()
            return
        self._expired = body
        body.set_exception(
            RequestTimeout(
                f"The request body did not arrive within {self._budget.body_s:g} s of its "
                "head; send it at once."
            )
        )

    def _close_with(self, answer: bytes) -> None:
        """Hand the transport to a polite close after ``answer``, and let aiohttp wind
        this connection down as if the client had gone."""
        transport = self.transport
        if transport is None:
            return
        self.transport = None  # aiohttp must not close it: the lingering close does
        LingeringClose(self._gate, self._budget.linger_s).take_over(transport, answer)
        self.connection_lost(None)

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def _arm_at(self, when: float, callback: Callable[[], None]) -> None:
        self._disarm()
        self._timer = asyncio.get_running_loop().call_at(when, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
