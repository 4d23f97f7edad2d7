"""The one error hierarchy of lastmile, and the stable problem codes agents see.

It lives beside the schemas because the codes are part of the contract with agents:
adapters raise these, the pipeline passes them on, the API renders them as RFC 9457
problems. Each class knows its HTTP status and its machine ``code``; ``detail`` is
written for an LLM (what went wrong, what to do instead); ``headers`` are HTTP headers
the answer must carry (``Retry-After``, ``RateLimit``), rendered generically::

    GatewayError
    ├── Unauthenticated              401 unauthenticated
    │   ├── TokenInvalid             401 token_invalid        (not a JWT we can read; wrong issuer)
    │   ├── TokenExpired             401 token_expired        (exp passed, or nbf not reached)
    │   ├── TokenAudienceMismatch    401 token_audience_mismatch
    │   ├── TokenSignatureInvalid    401 token_signature_invalid (no provider key signed it)
    │   └── TokenSubjectUnknown      401 token_subject_unknown (no agent mapped to the subject)
    ├── ApprovalRequired             202 approval_required    (held for a person; not a failure)
    ├── Forbidden                    403 forbidden
    │   ├── PolicyDenied             403 policy_denied
    │   ├── SelfApproval             403 self_approval
    │   ├── InsufficientScope        403 insufficient_scope   (token lacks oidc.scopes)
    │   ├── HostNotAllowed           403 host_not_allowed     (MCP: DNS-rebinding guard)
    │   └── OriginNotAllowed         403 origin_not_allowed   (MCP: DNS-rebinding guard)
    ├── UnknownOperation             404 unknown_operation
    ├── NotFound                     404 not_found            (routes)
    ├── MethodNotAllowed             405 method_not_allowed
    ├── ApprovalClosed               409 approval_closed      (no longer pending)
    ├── BudgetExceeded               429 budget_exceeded      (Retry-After)
    ├── Halted                       503 halted               (kill switch)
    ├── RateLimited                  429 rate_limited         (Retry-After, RateLimit headers)
    ├── RequestRejected              400 bad_request
    │   ├── MalformedJson            400 malformed_json
    │   ├── UnsupportedMediaType     415 unsupported_media_type
    │   ├── NotAcceptable            406 not_acceptable       (MCP: Accept excludes JSON)
    │   ├── PayloadTooLarge          413 payload_too_large
    │   ├── RequestTimeout           408 request_timeout      (head or body arrived too slowly)
    │   ├── ValidationFailed         422 validation_failed
    │   ├── PolicyInvalid            422 policy_invalid       (reload refused; old policies stay)
    │   ├── IdempotencyKeyRequired   400 idempotency_key_required
    │   ├── IdempotencyKeyInvalid    400 idempotency_key_invalid
    │   └── IdempotencyKeyReused     422 idempotency_key_reused (same key, other payload)
    ├── IdempotencyInFlight          409 idempotency_in_flight  (same key, first call running)
    ├── BackendError                 502 backend_error
    │   ├── BackendRejected          422 backend_rejected     (business error)
    │   ├── BackendNotFound          404 backend_not_found
    │   ├── ContractViolation        502 backend_contract_violation
    │   ├── BackendFault             502 backend_fault        (SOAP fault; retryable by code)
    │   └── TransientBackendError    503 backend_unavailable  (retryable)
    │       ├── BackendUnavailable   503 backend_unavailable
    │       ├── CircuitOpen          503 backend_unavailable  (Retry-After; failing fast)
    │       ├── BackendBusy          503 backend_busy         (bulkhead full: shed)
    │       └── BackendTimeout       504 timeout              (sent, no answer: outcome unknown)
    │           └── BackendDisconnected  502 backend_disconnected (connection dropped after sending)
    ├── AuditUnavailable             503 audit_unavailable
    ├── StateUnavailable             503 state_unavailable
    ├── IdentityProviderUnavailable  503 identity_provider_unavailable (no signing keys yet)
    ├── Overloaded                   503 overloaded
    └── InternalError                500 internal_error
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict


class FieldError(BaseModel):
    """One offending input field: where it is, what was expected, what was received."""

    model_config = ConfigDict(frozen=True)

    field: str
    message: str
    expected: str | None = None
    received: str | None = None


class GatewayError(Exception):
    """Base of every error the gateway answers with; never carries a stack trace out."""

    status: int = 500
    code: str = "internal_error"
    title: str = "Internal error"
    retryable: bool = False

    def __init__(
        self,
        detail: str,
        *,
        extras: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extras: dict[str, object] = dict(extras or {})
        self.headers: dict[str, str] = dict(headers or {})


def retry_after_seconds(seconds: float) -> int:
    """The one rounding rule for every ``Retry-After`` the gateway reads or writes: up to
    whole seconds (RFC 9110 delay-seconds), at least 1, so a retry at that time is never
    early and never immediate. The nanosecond slack keeps float noise (2.0000000001) from
    costing a whole second."""
    return max(math.ceil(seconds - 1e-9), 1)


def retry_after_headers(seconds: float) -> dict[str, str]:
    """``Retry-After`` for a wait of ``seconds``, rounded by :func:`retry_after_seconds`."""
    return {"Retry-After": str(retry_after_seconds(seconds))}


class Unauthenticated(GatewayError):
    status, code, title = 401, "unauthenticated", "Authentication required"


class TokenInvalid(Unauthenticated):
    """A bearer token that looks like a JWT but cannot be used: malformed, another issuer,
    an algorithm we do not accept, or required claims missing."""

    status, code, title = 401, "token_invalid", "Access token not usable"


class TokenExpired(Unauthenticated):
    status, code, title = 401, "token_expired", "Access token expired or not yet valid"


class TokenAudienceMismatch(Unauthenticated):
    status, code, title = 401, "token_audience_mismatch", "Access token meant for another service"


class TokenSignatureInvalid(Unauthenticated):
    status, code, title = 401, "token_signature_invalid", "Access token signature not valid"


class TokenSubjectUnknown(Unauthenticated):
    """The token is genuine, but no configured agent is mapped to its subject."""

    status, code, title = 401, "token_subject_unknown", "No agent for this token's subject"


class Forbidden(GatewayError):
    status, code, title = 403, "forbidden", "Operation not permitted for this agent"


class PolicyDenied(Forbidden):
    """A Cedar policy (or deny-by-default) refused the call; extras name the policies."""

    status, code, title = 403, "policy_denied", "Denied by policy"


class SelfApproval(Forbidden):
    """A person tried to approve a call made on their own behalf."""

    status, code, title = 403, "self_approval", "You cannot approve your own request"


class InsufficientScope(Forbidden):
    """A genuine access token without the scopes the gateway requires (RFC 6750)."""

    status, code, title = 403, "insufficient_scope", "Access token lacks a required scope"


class HostNotAllowed(Forbidden):
    """``/mcp`` was reached under a host name not on its allow-list (DNS rebinding)."""

    status, code, title = 403, "host_not_allowed", "Host not allowed"


class OriginNotAllowed(Forbidden):
    """A browser request to ``/mcp`` from an origin not on its allow-list."""

    status, code, title = 403, "origin_not_allowed", "Origin not allowed"


class ApprovalRequired(GatewayError):
    """The call is held until a person approves it; extras carry the approval id and the
    URL to poll. Not a failure: the REST face answers 202 Accepted."""

    status, code, title = 202, "approval_required", "Held for human approval"


class ApprovalClosed(GatewayError):
    status, code, title = 409, "approval_closed", "The approval is no longer pending"


class BudgetExceeded(GatewayError):
    """A budget or stateful limit would be exceeded; ``retry_after_s`` and ``resets_at``
    (when its window ends) in extras."""

    status, code, title = 429, "budget_exceeded", "Budget exceeded"
    retryable = True


class Halted(GatewayError):
    """An operator halted this traffic (kill switch); the detail carries their reason."""

    status, code, title = 503, "halted", "Halted by an operator"


class UnknownOperation(GatewayError):
    status, code, title = 404, "unknown_operation", "Unknown operation"


class NotFound(GatewayError):
    status, code, title = 404, "not_found", "No such resource"


class MethodNotAllowed(GatewayError):
    status, code, title = 405, "method_not_allowed", "Method not allowed"


class RateLimited(GatewayError):
    """A rate limit (per agent, per agent and operation, or the backend's capacity) is spent."""

    status, code, title = 429, "rate_limited", "Rate limit exceeded"
    retryable = True


class RequestRejected(GatewayError):
    status, code, title = 400, "bad_request", "Bad request"


class MalformedJson(RequestRejected):
    status, code, title = 400, "malformed_json", "Request body is not valid JSON"


class UnsupportedMediaType(RequestRejected):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class NotAcceptable(RequestRejected):
    status, code, title = 406, "not_acceptable", "No acceptable response format"


class PayloadTooLarge(RequestRejected):
    status, code, title = 413, "payload_too_large", "Request body too large"


class RequestTimeout(RequestRejected):
    """The request head or body did not arrive within the server's read deadline; the
    call never ran, so sending it again (at a normal pace) is safe."""

    status, code, title = 408, "request_timeout", "The request arrived too slowly"
    retryable = True


class ValidationFailed(RequestRejected):
    """Input did not match the operation's input schema; ``errors`` lists each field."""

    status, code, title = 422, "validation_failed", "Input failed validation"

    def __init__(self, detail: str, errors: Sequence[FieldError]) -> None:
        super().__init__(detail, extras={"errors": [e.model_dump() for e in errors]})
        self.errors = tuple(errors)


class PolicyInvalid(RequestRejected):
    """A policy reload found problems; ``problems`` in extras, the running policies stay."""

    status, code, title = 422, "policy_invalid", "The policy files are invalid"


class IdempotencyKeyRequired(RequestRejected):
    status, code, title = 400, "idempotency_key_required", "Idempotency key required"


class IdempotencyKeyInvalid(RequestRejected):
    status, code, title = 400, "idempotency_key_invalid", "Idempotency key invalid"


class IdempotencyKeyReused(RequestRejected):
    """The key was used before with a different payload; a key names one call."""

    status, code, title = 422, "idempotency_key_reused", "Idempotency key reused"


class IdempotencyInFlight(GatewayError):
    """The first call with this key is still running; retry after it has finished."""

    status, code, title = 409, "idempotency_in_flight", "A call with this key is in progress"
    retryable = True


class BackendError(GatewayError):
    """The system of record failed or answered with an error."""

    status, code, title = 502, "backend_error", "Backend error"


class BackendRejected(BackendError):
    """A business error: the backend understood the request and refused it."""

    status, code, title = 422, "backend_rejected", "The backend rejected the request"


class BackendNotFound(BackendError):
    status, code, title = 404, "backend_not_found", "The backend has no such record"


class BackendConflict(BackendError):
    """The record changed since the agent read it (an OData stale ETag, HTTP 412): the
    change was not made; read the record again and retry with its new version."""

    status, code, title = 409, "backend_conflict", "The record changed since it was read"


class ContractViolation(BackendError):
    """The backend's answer does not fit the operation's output model; never passed on."""

    status, code = 502, "backend_contract_violation"
    title = "The backend answered outside its contract"


class BackendFault(BackendError):
    """The backend answered with a protocol-level fault (a SOAP Fault).

    Whether a retry may help depends on the fault: a server/receiver fault that means
    "try later" is retryable, a client/sender fault (the request itself is wrong) is not.
    ``fault_code`` is the backend's own code, passed on for engineers and agents.
    """

    status, code, title = 502, "backend_fault", "The backend answered with a fault"

    def __init__(self, detail: str, *, fault_code: str, retryable: bool) -> None:
        super().__init__(detail, extras={"fault_code": fault_code})
        self.fault_code = fault_code
        self.retryable = retryable


class TransientBackendError(BackendError):
    status, code, title = 503, "backend_unavailable", "Backend unavailable"
    retryable = True


class BackendUnavailable(TransientBackendError):
    status, code, title = 503, "backend_unavailable", "Backend unavailable"


class CircuitOpen(TransientBackendError):
    """The backend failed repeatedly; calls fail fast until its circuit breaker half-opens."""

    status, code, title = 503, "backend_unavailable", "Backend unavailable (circuit open)"


class BackendBusy(TransientBackendError):
    """The backend's bulkhead is full: the call was shed to protect the system of record."""

    status, code, title = 503, "backend_busy", "Backend at capacity"


class BackendTimeout(TransientBackendError):
    """The request was sent and no answer came in time: a write's outcome is unknown, so
    the gateway looks before it re-sends (see ``adapters.base``)."""

    status, code, title = 504, "timeout", "The backend did not answer in time"


class BackendDisconnected(BackendTimeout):
    """The connection dropped (reset, closed, body cut short) after the request was sent.

    A timeout in all but name: the backend may have acted, so every rule for an unknown
    outcome applies; the code tells engineers the network, not the clock, ended the call.
    """

    status, code = 502, "backend_disconnected"
    title = "The backend dropped the connection before answering"


class AuditUnavailable(GatewayError):
    """The audit event could not be made durable, so the call cannot be acknowledged."""

    status, code, title = 503, "audit_unavailable", "The audit trail cannot be written"


class IdentityProviderUnavailable(GatewayError):
    """An access token arrived, but the identity provider's signing keys could not be
    fetched, and none are cached: the token can be neither accepted nor refused."""

    status, code, title = 503, "identity_provider_unavailable", "Identity provider unreachable"
    retryable = True


class StateUnavailable(GatewayError):
    """The store of limits, budgets or idempotency keys cannot be reached (writes fail closed)."""

    status, code, title = 503, "state_unavailable", "The gateway's state store is unavailable"
    retryable = True


class ApprovalsUnavailable(GatewayError):
    """The store of held calls cannot be reached; nothing was held, approved or run."""

    status, code, title = 503, "approvals_unavailable", "The approvals store is unavailable"
    retryable = True


class HaltStateUnknown(GatewayError):
    """This process cannot confirm that its copy of the halts is fresh, so it admits
    nothing: halts never fail open."""

    status, code, title = 503, "halt_state_unknown", "The gateway cannot confirm the halts"
    retryable = True


class Overloaded(GatewayError):
    """The gateway is at its bound of calls in flight; shed fast rather than queue."""

    status, code, title = 503, "overloaded", "The gateway is overloaded"
    retryable = True


class InternalError(GatewayError):
    status, code, title = 500, "internal_error", "Internal error"
