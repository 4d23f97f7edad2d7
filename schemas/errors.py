"""The one error hierarchy of lastmile, and the stable problem codes agents see.

It lives beside the schemas because the codes are part of the contract with agents:
adapters raise these, the pipeline passes them on, the API renders them as RFC 9457
problems. Each class knows its HTTP status and its machine ``code``; ``detail`` is
written for an LLM (what went wrong, what to do instead)::

    GatewayError
    ├── Unauthenticated              401 unauthenticated
    ├── Forbidden                    403 forbidden
    ├── UnknownOperation             404 unknown_operation
    ├── NotFound                     404 not_found            (routes)
    ├── MethodNotAllowed             405 method_not_allowed
    ├── RequestRejected              400 bad_request
    │   ├── MalformedJson            400 malformed_json
    │   ├── UnsupportedMediaType     415 unsupported_media_type
    │   ├── NotAcceptable            406 not_acceptable       (MCP: Accept excludes JSON)
    │   ├── PayloadTooLarge          413 payload_too_large
    │   └── ValidationFailed         422 validation_failed
    ├── BackendError                 502 backend_error
    │   ├── BackendRejected          422 backend_rejected     (business error)
    │   ├── BackendNotFound          404 backend_not_found
    │   ├── ContractViolation        502 backend_contract_violation
    │   └── TransientBackendError    503 backend_unavailable  (retryable)
    │       ├── BackendUnavailable   503 backend_unavailable
    │       └── BackendTimeout       504 timeout
    ├── AuditUnavailable             503 audit_unavailable
    └── InternalError                500 internal_error
"""

from __future__ import annotations

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

    def __init__(self, detail: str, *, extras: Mapping[str, object] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extras: dict[str, object] = dict(extras or {})


class Unauthenticated(GatewayError):
    status, code, title = 401, "unauthenticated", "Authentication required"


class Forbidden(GatewayError):
    status, code, title = 403, "forbidden", "Operation not permitted for this agent"


class UnknownOperation(GatewayError):
    status, code, title = 404, "unknown_operation", "Unknown operation"


class NotFound(GatewayError):
    status, code, title = 404, "not_found", "No such resource"


class MethodNotAllowed(GatewayError):
    status, code, title = 405, "method_not_allowed", "Method not allowed"


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


class ValidationFailed(RequestRejected):
    """Input did not match the operation's input schema; ``errors`` lists each field."""

    status, code, title = 422, "validation_failed", "Input failed validation"

    def __init__(self, detail: str, errors: Sequence[FieldError]) -> None:
        super().__init__(detail, extras={"errors": [e.model_dump() for e in errors]})
        self.errors = tuple(errors)


class BackendError(GatewayError):
    """The system of record failed or answered with an error."""

    status, code, title = 502, "backend_error", "Backend error"


class BackendRejected(BackendError):
    """A business error: the backend understood the request and refused it."""

    status, code, title = 422, "backend_rejected", "The backend rejected the request"


class BackendNotFound(BackendError):
    status, code, title = 404, "backend_not_found", "The backend has no such record"


class ContractViolation(BackendError):
    """The backend's answer does not fit the operation's output model; never passed on."""

    status, code = 502, "backend_contract_violation"
    title = "The backend answered outside its contract"


class TransientBackendError(BackendError):
    status, code, title = 503, "backend_unavailable", "Backend unavailable"
    retryable = True


class BackendUnavailable(TransientBackendError):
    status, code, title = 503, "backend_unavailable", "Backend unavailable"


class BackendTimeout(TransientBackendError):
    status, code, title = 504, "timeout", "The backend did not answer in time"


class AuditUnavailable(GatewayError):
    """The audit event could not be made durable, so the call cannot be acknowledged."""

    status, code, title = 503, "audit_unavailable", "The audit trail cannot be written"


class InternalError(GatewayError):
    status, code, title = 500, "internal_error", "Internal error"
