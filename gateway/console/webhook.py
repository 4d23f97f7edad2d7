"""The held-call notification: a signed POST to a configured URL each time a call is held.

The body names the held call (operation, agent, on-behalf-of, policies, reasons, expiry
and the console page to decide it) but never its input: approvers read that in the
console, behind sign-in. The signature is HMAC-SHA256 with the configured secret over
``<X-Lastmile-Timestamp>.<body>``, sent as ``X-Lastmile-Signature: sha256=<hex>``, so a
receiver can reject forged and replayed notifications. Sending happens beside the call,
never in its way: the agent's 202 does not wait for it, and a failure is logged only.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator

import aiohttp
import structlog
from aiohttp import web

from gateway.config.guardrails import ApprovalWebhookConfig
from gateway.guardrails.approval_store import HeldCall
from gateway.guardrails.approvals import iso

log = structlog.get_logger("lastmile.console.webhook")
TIMEOUT = aiohttp.ClientTimeout(total=10)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class HeldCallWebhook:
    def __init__(self, config: ApprovalWebhookConfig, console_url: str) -> None:
        self._config = config
        self._console_url = console_url
        self._http: aiohttp.ClientSession | None = None
        self._sending: set[asyncio.Task[None]] = set()

    def notify(self, held: HeldCall) -> None:
        """Send in the background (the desk calls this right after holding)."""
        task = asyncio.get_running_loop().create_task(self._send(held))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    def body(self, held: HeldCall) -> bytes:
        return json.dumps(
            {
                "event": "approval.held",
                "approval_id": held.id,
                "operation": held.operation,
                "agent": held.agent_id,
                "on_behalf_of": held.on_behalf_of,
                "policy_ids": held.policy_ids,
                "reasons": held.reasons,
                "expires_at": iso(held.expires_at),
                "console_url": f"{self._console_url}/console/approvals/{held.id}",
            }
        ).encode()

    async def _send(self, held: HeldCall) -> None:
        if self._http is None:
            return
        body = self.body(held)
        timestamp = str(int(time.time()))
        secret = self._config.secret.get_secret_value()
        headers = {
            "Content-Type": "application/json",
            "X-Lastmile-Timestamp": timestamp,
            "X-Lastmile-Signature": signature(secret, timestamp, body),
        }
        try:
            async with self._http.post(self._config.url, data=body, headers=headers) as answer:
                if answer.status >= 300:
                    log.warning("approval_webhook_refused", status=answer.status, id=held.id)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("approval_webhook_failed", error=type(exc).__name__, id=held.id)

    async def lifecycle(self, app: web.Application) -> AsyncIterator[None]:
        """One HTTP session for the application's life; unsent notices end with it."""
        self._http = aiohttp.ClientSession(timeout=TIMEOUT)
        try:
            yield
        finally:
            for task in list(self._sending):
                task.cancel()
            await asyncio.gather(*self._sending, return_exceptions=True)
            await self._http.close()
