"""The operators' API for the configuration in force.

- ``POST /v1/admin/config`` ``{"text": "<gateway.yaml>", "source": "gateway.yaml"}``:
  check the text as ``check-config`` would, refuse a change to a part fixed at start-up
  (``409 config_not_reloadable`` listing them) or a config with problems (``422
  config_invalid``), else make it the newest version. The answer waits until every live
  process adopted it (``200``, ``acknowledged: true``) or names, after
  ``fleet.config_confirm_within``, those that did not (``202``, ``unconfirmed``, and in
  ``refused_by`` the reason each gave). Without ``text``, the configuration in force is
  published again, which re-reads its policy files everywhere.
- ``GET /v1/admin/config``: the version in force here, its text, and which parts a
  reload may change.

Without a ``postgres:`` section a reload applies to the process that receives it only.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.api.approvals import staff_with_role
from gateway.api.middleware import REQUEST_ID
from gateway.appkeys import AUDIT_STORE, CONFIG, CONFIG_BOARD, IN_FORCE
from gateway.audit.admin import record_admin_action
from gateway.config import StaffRole
from gateway.reload.board import Adoption
from gateway.reload.in_force import Reloadable, ReloadRefused
from gateway.reload.sections import RELOADABLE, fixed_sections
from schemas.errors import (
    ConfigInvalid,
    ConfigNotReloadable,
    FieldError,
    PayloadTooLarge,
    ValidationFailed,
)

MAX_CONFIG_BYTES = 1 << 20  # a config is larger than a call's body; bounded all the same


class ReloadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    text: Annotated[str | None, Field(max_length=MAX_CONFIG_BYTES)] = None
    source: Annotated[str, Field(min_length=1, max_length=200)] = "admin API"


async def publish_config(
    request: web.Request, text: str | None, source: str, action: str
) -> tuple[Reloadable, Adoption]:
    """Publish, audit, and wait for the fleet: what the reload endpoints share.
    Raises :class:`ReloadRefused` with nothing changed."""
    member = staff_with_role(request, StaffRole.OPERATOR)
    app = request.app
    snapshot = await app[CONFIG_BOARD].publish(text, source)
    written = text if text is not None else snapshot.text
    digest = hashlib.sha256(written.encode("utf-8")).hexdigest()[:16] if written else "-"
    await record_admin_action(
        app[AUDIT_STORE],
        request_id=request[REQUEST_ID],
        actor=member.id,
        action=action,
        target=f"config version {snapshot.version}",
        detail=f"{source} (sha256 {digest}): {_summary(snapshot)}",
        config_version=snapshot.version,
    )
    within = app[CONFIG].fleet.config_confirm_within
    return snapshot, await app[CONFIG_BOARD].adoption(snapshot.version, within)


def adoption_json(snapshot: Reloadable, adoption: Adoption) -> dict[str, object]:
    return {
        "config_version": snapshot.version,
        "acknowledged": adoption.acknowledged,
        "confirmed_by": adoption.confirmed,
        "unconfirmed": adoption.unconfirmed,
        "refused_by": adoption.refused,
    }


async def _reload(request: web.Request) -> web.Response:
    staff_with_role(request, StaffRole.OPERATOR)  # before reading a large body
    wanted = _parse(await _bounded_body(request))
    try:
        snapshot, adoption = await publish_config(
            request, wanted.text, wanted.source, "config_reload"
        )
    except ReloadRefused as exc:
        raise refusal(exc) from None
    body = {**adoption_json(snapshot, adoption), "source": wanted.source}
    return web.json_response(body, status=200 if adoption.acknowledged else 202)


async def _show(request: web.Request) -> web.Response:
    staff_with_role(request, StaffRole.OPERATOR)
    current = request.app[IN_FORCE].current
    return web.json_response(
        {
            "config_version": current.version,
            "text": current.text,
            "error": request.app[CONFIG_BOARD].error(),
            "reloadable": list(RELOADABLE),
            "fixed": fixed_sections(),
        }
    )


def refusal(exc: ReloadRefused) -> ConfigInvalid | ConfigNotReloadable:
    """The problem for a refused reload; the configuration in force stays."""
    shown = "; ".join(exc.problems[:5])
    if exc.fixed:
        return ConfigNotReloadable(
            "The new configuration changes parts built at start-up, which only a restart "
            f"changes: {', '.join(exc.fixed)}. Nothing was changed; the configuration in "
            "force stays.",
            extras={"fixed": exc.fixed, "problems": exc.problems},
        )
    return ConfigInvalid(
        f"The new configuration has problems; the configuration in force stays: {shown}",
        extras={"problems": exc.problems},
    )


def _summary(snapshot: Reloadable) -> str:
    config = snapshot.config
    policies = len(snapshot.policy.rules) if snapshot.policy else 0
    return (
        f"{len(config.agents)} agent(s), {len(config.staff)} staff, {policies} "
        f"policies, {len(config.guardrails.budgets)} budget(s)"
    )


async def _bounded_body(request: web.Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > MAX_CONFIG_BYTES + 4096:
            raise PayloadTooLarge(
                f"A configuration is at most {MAX_CONFIG_BYTES} bytes; this one is larger."
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(body: bytes) -> ReloadRequest:
    try:
        if not body.strip():
            return ReloadRequest()
        return ReloadRequest.model_validate(json.loads(body))
    except (ValueError, ValidationError) as exc:
        errors = exc.errors(include_url=False) if isinstance(exc, ValidationError) else []
        raise ValidationFailed(
            'Send {"text": "<the gateway.yaml text>", "source": "<where it came from>"}, '
            "or no body to publish the configuration in force again.",
            [
                FieldError(field=".".join(map(str, e["loc"])) or "(body)", message=e["msg"])
                for e in errors
            ]
            or [FieldError(field="(body)", message="not JSON")],
        ) from None


def add_config_routes(app: web.Application) -> None:
    app.router.add_post("/v1/admin/config", _reload)
    app.router.add_get("/v1/admin/config", _show)
