"""Idempotency keys for writes: one key names one call, whatever the agent retries.

Semantics of the IETF ``Idempotency-Key`` draft and Stripe's practice:

- the first call with a key claims it atomically in the state store (``put_if_absent``);
- the same key and payload again: the stored answer is replayed, success or error,
  without touching the backend; while the first call still runs: 409; with another
  payload: 422;
- keys are scoped per agent (an agent never sees another's stored answer), at most
  255 visible ASCII characters, kept for ``idempotency.retention_s``;
- a call that never reached the backend (validation failed, shed, circuit open, denied)
  stores nothing, so the same key can be used again; neither does a dry run, which
  only checks the key's form;
- a write held for approval is stored as held: the same key and payload again get the
  same approval (202, same id), never a second one;
- a write whose outcome is unknown (it timed out after it was sent) is never replayed as
  an error nor blindly re-sent: if the adapter can look the write up by its external
  reference, the next call with the key looks first; if it cannot, the timeout is what
  the key answers from then on.

The stage also chooses the backend key the adapter attaches to the write (an external
reference field), so a lookup can find it. For writes that can be looked up it is written
ahead, before the call, so even a gateway that crashes mid-call leaves the next call with
the same key something to look up.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import structlog

from adapters.base import safe_text
from gateway.config.resilience import ResilienceConfig
from gateway.guardrails.safety import scrub
from gateway.outcomes import Answered, Failed, Held, Outcome, Replayed
from gateway.pipeline import Call, Path, Proceed, StageOutcome
from gateway.state.store import StateStore
from schemas.common import Effect
from schemas.errors import (
    BackendTimeout,
    GatewayError,
    Halted,
    IdempotencyInFlight,
    IdempotencyKeyInvalid,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    StateUnavailable,
    retry_after_headers,
)
from schemas.patterns import IDEMPOTENCY_KEY, is_valid

log = structlog.get_logger("lastmile.idempotency")
NOT_PROCESSED = frozenset({"backend_unavailable", "backend_busy"})
UNKNOWN_OUTCOME = frozenset({"timeout", "backend_disconnected"})  # sent; answer never came


class Idempotency:
    """A call a person approved is not claimed again (``skip_on``): its key, if any, was
    settled when the call was held."""

    skip_on = frozenset({Path.APPROVED})

    def __init__(self, store: StateStore, config: ResilienceConfig) -> None:
        self._store = store
        self._config = config

    def _required(self, operation: str) -> bool:
        op_config = self._config.operations.get(operation)
        if op_config is not None and op_config.require_idempotency_key is not None:
            return op_config.require_idempotency_key
        return self._config.idempotency.require_for_writes

    async def __call__(self, call: Call, proceed: Proceed) -> StageOutcome:
        op, agent = call.operation, call.agent
        assert op is not None  # noqa: S101 - stage order
        assert agent is not None  # noqa: S101
        assert call.input is not None  # noqa: S101
        key = call.request.idempotency_key
        if key is not None and not is_valid(IDEMPOTENCY_KEY, key):
            call.idempotency_key = safe_text(key, 64)
            raise IdempotencyKeyInvalid(
                "The Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is "
                "a good choice). Send a valid key, or none."
            )
        call.idempotency_key = key
        if op.effect is Effect.READ or (key is None and not self._required(op.name)):
            return await proceed(call)  # reads are idempotent by nature; unkeyed writes go
        if key is None:
            raise IdempotencyKeyRequired(
                f"{op.name!r} changes data and this gateway requires an Idempotency-Key "
                "header for it: send a new unique key (e.g. a UUID) per intended write, and "
                "the same key when you retry that write."
            )
        if call.dry_run:
            return await proceed(call)  # a rehearsal: the key stays free for the real call
        scope = hashlib.sha256(f"{agent.id}\0{key}".encode()).hexdigest()
        fingerprint = hashlib.sha256(f"{op.name}\0{call.input.model_dump_json()}".encode())
        claim = _Claim(f"idem:{scope}", f"idem-unknown:{scope}", fingerprint.hexdigest())
        existing = await self._store.put_if_absent(
            claim.record_key, _dump(claim.fields), self._config.idempotency.in_flight_s
        )
        if existing is not None:
            return self._replay(call, json.loads(existing), claim.fingerprint)
        try:
            await self._prepare(call, claim)
        except BaseException:
            await self._forget(claim.record_key)
            raise
        try:
            outcome = await proceed(call)
        except BaseException:
            await self._forget(claim.record_key)
            raise
        await self._settle(call, outcome, claim)
        return outcome

    async def _settle(self, call: Call, outcome: StageOutcome, claim: _Claim) -> None:
        """Keep what the key answers from now on, by the kind of ending."""
        if isinstance(outcome, Answered):
            output = outcome.output.model_dump(mode="json")
            reference = outcome.backend_reference
            await self._settled(call, claim, output=output, backend_reference=reference)
        elif isinstance(outcome, Held):
            await self._keep(claim, state="held", held=_held_dump(outcome))
        elif isinstance(outcome, Failed):
            await self._settle_error(call, outcome.error, claim)
        else:  # refused before the backend, or previewed: the key stays free
            await self._free(call, claim)

    async def _prepare(self, call: Call, claim: _Claim) -> None:
        """Choose the backend key: the one of an earlier call with this key whose outcome is
        unknown (and look it up first), or a fresh one, written ahead for writes that can be
        looked up, so that even a gateway crash mid-call leaves something to look up."""
        op = call.operation
        assert op is not None  # noqa: S101
        unknown = await self._store.get(claim.unknown_key)
        if unknown is not None:
            earlier = json.loads(unknown)
            if earlier.get("fingerprint") != claim.fingerprint:
                raise _reused()
            call.backend_key = str(earlier["backend_key"])
            call.lookup_first = True
        else:  # fresh per call, so a key reused after its retention is a new write
            call.backend_key = "LM" + uuid.uuid4().hex[:30]
        claim.fields["backend_key"] = call.backend_key
        if op.lookup and not call.lookup_first:
            await self._store.put(
                claim.unknown_key, _dump(claim.fields), self._config.idempotency.retention_s
            )

    def _replay(self, call: Call, stored: dict[str, Any], fingerprint: str) -> Outcome:
        op = call.operation
        assert op is not None  # noqa: S101
        if stored.get("fingerprint") != fingerprint:
            raise _reused()
        state = stored.get("state")
        if state == "in_flight":
            raise IdempotencyInFlight(
                "The first call with this Idempotency-Key is still running. Retry with the "
                "same key after it has finished to receive its result.",
                headers=retry_after_headers(1),
            )
        if state == "held":
            held = stored["held"]
            return Replayed(
                Held(
                    approval_id=str(held["approval_id"]),
                    expires_at=held.get("expires_at"),
                    reasons=tuple(held.get("reasons") or ()),
                    policy_ids=tuple(held.get("policy_ids") or ()),
                )
            )
        error = stored.get("error")
        if error is not None:
            return Replayed(Failed(_restored(error)))
        output = op.output_model.model_validate(stored["output"], strict=False)
        return Replayed(Answered(output, backend_reference=stored.get("backend_reference")))

    async def _settle_error(self, call: Call, exc: GatewayError, claim: _Claim) -> None:
        op = call.operation
        assert op is not None  # noqa: S101
        codes = {a.error_code for a in call.attempts}
        if not call.attempts or codes <= NOT_PROCESSED:
            await self._free(call, claim)  # the backend never took the write: nothing to keep
            return
        undecided = isinstance(exc, BackendTimeout | Halted) or exc.retryable
        if codes & UNKNOWN_OUTCOME and undecided:
            if op.lookup:  # the write-ahead record stays: the next call looks first
                await self._forget(claim.record_key)
                return
            exc.detail = (
                f"The outcome of this write is unknown: {exc.detail} It may have been "
                "recorded. Check the record before writing again with a new key."
            )
        error = {
            "status": exc.status,
            "code": exc.code,
            "title": exc.title,
            "detail": scrub(exc.detail),
            "retryable": exc.retryable,
            "extras": exc.extras,
        }
        await self._settled(call, claim, error=error)

    async def _settled(self, call: Call, claim: _Claim, **answer: Any) -> None:
        """The backend took the write: keep its answer; the write-ahead record is done."""
        await self._keep(claim, state="done", **answer)
        if call.operation is not None and call.operation.lookup:
            await self._forget(claim.unknown_key)

    async def _free(self, call: Call, claim: _Claim) -> None:
        """Nothing reached the backend: the key is free again, and so is a write-ahead
        record this call made (one left by an earlier unknown outcome stays)."""
        await self._forget(claim.record_key)
        if call.operation is not None and call.operation.lookup and not call.lookup_first:
            await self._forget(claim.unknown_key)

    async def _keep(self, claim: _Claim, **answer: Any) -> None:
        """Store a settled answer; the call's outcome stands even if the store fails now."""
        value = {**claim.fields, **answer}
        try:
            await self._store.put(
                claim.record_key, _dump(value), self._config.idempotency.retention_s
            )
        except StateUnavailable:
            log.error("idempotency_result_not_stored", key=claim.record_key)

    async def _forget(self, key: str) -> None:
        try:
            await self._store.delete(key)
        except StateUnavailable:
            log.error("idempotency_claim_not_released", key=key)


@dataclass(slots=True)
class _Claim:
    """One call's hold on a key: where its record and write-ahead record live, and the
    fields every stored state of the record carries (fingerprint, then the backend key)."""

    record_key: str
    unknown_key: str
    fingerprint: str
    fields: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.fields = {"state": "in_flight", "fingerprint": self.fingerprint, **self.fields}


def _reused() -> IdempotencyKeyReused:
    return IdempotencyKeyReused(
        "This Idempotency-Key was already used for a call with a different input. A key "
        "names exactly one call: use a new key for a different write."
    )


def _dump(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _held_dump(held: Held) -> dict[str, Any]:
    return {
        "approval_id": held.approval_id,
        "expires_at": held.expires_at,
        "reasons": list(held.reasons),
        "policy_ids": list(held.policy_ids),
    }


def _restored(stored: dict[str, Any]) -> GatewayError:
    error = GatewayError(str(stored["detail"]), extras=stored.get("extras") or {})
    error.status = int(stored["status"])
    error.code = str(stored["code"])
    error.title = str(stored["title"])
    error.retryable = bool(stored["retryable"])
    return error
