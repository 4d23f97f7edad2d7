"""The scripted agent of the demo: real HTTP calls, printed as a story, each checked."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import aiohttp

from gateway.audit.store import AuditStore
from schemas.audit import AuditEvent

DEMO_KEYS = {
    "inventory-bot": "lm_demo_inventory_4f9c2a7e1b",
    "replenishment-bot": "lm_demo_replenish_8d31e05c6a",
    "retired-bot": "lm_demo_retired_2b7f4e9d13",
    # staff: people with their own keys, for the administrative APIs
    "maria.schmidt": "lm_demo_approver_5c1e8a2f90",
    "ops-oncall": "lm_demo_operator_93b7d04e1c",
    "kpmg-auditor": "lm_demo_auditor_6fa2c9e815",
    "support-bot": "lm_demo_support_69be90dd11",
    "sales-bot": "lm_demo_sales_3e8b71c94d",
}
"""Public demo keys (agents and staff) whose hashes are in the embedded default config.
Never use them in production."""


class DemoFailed(Exception):
    """A step saw something other than what it expected."""


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class DemoContext:
    """What every chapter of the demo may use."""

    http: aiohttp.ClientSession
    gateway_url: str
    out: TextIO
    audit: Callable[[], Awaitable[list[AuditEvent]]]
    sandbox_urls: dict[str, str] = field(default_factory=dict)
    audit_store: AuditStore | None = None  # for checkpoints and verification in the last chapter
    invocations: int = 0

    async def call(
        self, method: str, path: str, agent: str | None, body: Any = None, **headers: str
    ) -> Answer:
        """Call the gateway as ``agent`` (a key name in :data:`DEMO_KEYS`, or None)."""
        if agent is not None:
            headers["Authorization"] = f"Bearer {DEMO_KEYS[agent]}"
        if method == "POST" and path.startswith("/v1/operations/"):
            self.invocations += 1
        async with self.http.request(
            method, self.gateway_url + path, json=body, headers=headers
        ) as response:
            data = await response.json(content_type=None)
            return Answer(response.status, data, dict(response.headers))

    async def invoke(self, operation: str, agent: str, body: Any, **headers: str) -> Answer:
        return await self.call("POST", f"/v1/operations/{operation}", agent, body, **headers)

    def say(self, text: str = "") -> None:
        print(text, file=self.out)

    def step(self, title: str) -> None:
        self.say()
        self.say(f"── {title} " + "─" * max(0, 66 - len(title)))

    @staticmethod
    def expect(answer: Answer, status: int, check: Callable[[Any], bool] = lambda _: True) -> None:
        if answer.status != status or not check(answer.body):
            raise DemoFailed(
                f"expected HTTP {status}, got {answer.status}: {json.dumps(answer.body)[:500]}"
            )


Chapter = Callable[[DemoContext], Awaitable[None]]
