"""The people's routes in the OpenAPI document: approvals, the kill switch, the audit trail.

They take staff keys (``staffKey``), never agent keys, except that an agent may poll its
own held call. Each group has its own tag, so a platform importing the document for an
agent can leave them out, and the roles each route needs are named in its description.
"""

from __future__ import annotations

from gateway.api.approvals import STATUSES
from gateway.api.audit import FILTERS, MAX_PAGE
from gateway.api.openapi_parts import (
    AGENT_SECURITY,
    STAFF_SECURITY,
    JsonObject,
    answer,
    json_content,
    problems,
)

TAGS: list[JsonObject] = [
    {
        "name": "approvals",
        "description": "Calls held for a person's approval (approvers decide; operators and "
        "auditors read).",
    },
    {"name": "admin", "description": "The kill switch and policy reloads (operator role)."},
    {"name": "audit", "description": "The audit trail, its proofs and checkpoints (auditor)."},
]

STAFF_ERRORS: dict[str, str] = {
    "401": "No, unknown or revoked staff key (unauthenticated).",
    "403": "The key is an agent's, or the person lacks the role this route needs "
    "(forbidden), or an approver decides on a call made on their own behalf "
    "(self_approval).",
    "404": "No such approval, halt, request or checkpoint (not_found).",
    "409": "The approval is no longer pending: decided, expired or running (approval_closed).",
    "413": "The body is larger than server.max_body_bytes (payload_too_large).",
    "422": "The body or a query parameter does not fit (validation_failed, with errors[]), "
    "or reloaded policy files have problems (policy_invalid; the old ones stay).",
    "500": "A gateway bug (internal_error); no stack trace is sent.",
    "503": "The audit trail cannot record the act (audit_unavailable).",
}
_DECIDE = ("401", "403", "404", "409", "413", "422", "500", "503")
_READ = ("401", "403", "500")
_STRINGS = {"type": "array", "items": {"type": "string"}}
_NULLABLE_TEXT = {"type": ["string", "null"]}
_OBJECT = {"type": "object"}

SCHEMAS: dict[str, JsonObject] = {
    "Approval": {
        "type": "object",
        "description": "A held call: what was asked, why it waits, who decided, what happened.",
        "properties": {
            "id": {"type": "string"},
            "status": {"enum": sorted(STATUSES)},
            "status_url": {"type": "string"},
            "operation": {"type": "string"},
            "agent": {"type": "string"},
            "on_behalf_of": _NULLABLE_TEXT,
            "created_at": {"type": "string"},
            "expires_at": {"type": "string"},
            "request_id": {"type": "string"},
            "policy_ids": _STRINGS,
            "reasons": _STRINGS,
            "input_sha256": {"type": "string"},
            "decided_by": _NULLABLE_TEXT,
            "decided_at": _NULLABLE_TEXT,
            "decision_reason": _NULLABLE_TEXT,
            "execution_request_id": _NULLABLE_TEXT,
            "result": {
                "description": "The call's output as the agent may see it, once run; to "
                "a person, also masked by their staff[].may_see."
            },
            "error": {"description": "The problem the call ended with, if it failed."},
            "input": {
                "description": "The validated input: to the agent, exactly as it will run; "
                "to a person, fields of categories their staff[].may_see lacks masked "
                "([redacted:<category>])."
            },
            "masked": {
                "type": "array",
                "description": "To a person: each masked input field and why.",
                "items": {
                    "type": "object",
                    "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
                    "required": ["field", "reason"],
                },
            },
            "preview": {
                "type": ["object", "null"],
                "description": "To a person: what the call would do, worked out when it was "
                "held (budgets, backend_request, before, after, note); the backend-shaped "
                "parts are null with 'withheld' saying why when the person's may_see does "
                "not cover every sensitive category of the operation. Null for calls held "
                "before previews were stored.",
            },
        },
        "required": ["id", "status", "status_url", "operation", "agent"],
    },
    "Halt": {
        "type": "object",
        "properties": {
            "id": {"type": "string", "description": "all, or <scope>:<target>"},
            "scope": {"enum": ["all", "agent", "backend", "operation"]},
            "target": {"type": "string"},
            "reason": {"type": "string"},
            "operator": {"type": "string"},
            "since": {"type": "string"},
            "resumed_by": {"type": "string"},
        },
        "required": ["id", "scope", "target", "reason", "operator", "since"],
    },
    "AuditEntry": {
        "type": "object",
        "properties": {
            "index": {"type": "integer", "minimum": 0},
            "prev_hash": {"type": "string"},
            "leaf_hash": {"type": "string"},
            "event": {**_OBJECT, "description": "The AuditEvent as sealed (docs/audit.md)."},
        },
        "required": ["index", "prev_hash", "leaf_hash", "event"],
    },
}


def _ref(name: str) -> JsonObject:
    return {"$ref": f"#/components/schemas/{name}"}


def _path(name: str, description: str) -> JsonObject:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


def _query(name: str, schema: JsonObject, description: str = "") -> JsonObject:
    parameter: JsonObject = {"name": name, "in": "query", "schema": schema}
    if description:
        parameter["description"] = description
    return parameter


def _staff(operation_id: str, summary: str, description: str, responses: JsonObject) -> JsonObject:
    """A staff route; its tag is the first word of ``operation_id``."""
    return {
        "operationId": operation_id,
        "tags": [operation_id.split("_", 1)[0]],
        "summary": summary,
        "description": description,
        "security": STAFF_SECURITY,
        "responses": responses,
    }


APPROVAL_ERRORS: dict[str, str] = {
    **STAFF_ERRORS,
    "503": "The approvals store cannot be reached (approvals_unavailable; nothing was "
    "decided or run, retry later), or the audit trail cannot record the act "
    "(audit_unavailable).",
}


def _errors(statuses: tuple[str, ...], texts: dict[str, str] = STAFF_ERRORS) -> JsonObject:
    return problems(texts, statuses, {})


def approval_paths() -> JsonObject:
    decision_body = {"required": True, **json_content(_ref("DecisionRequest"))}
    approval = answer("The approval", _ref("Approval"))
    poll = _staff(
        "approvals_get",
        "One held call: its status, input, reasons, decision and result.",
        "The agent that made the call polls it with its own key (another agent's call is "
        "404); approvers, operators and auditors see every call.",
        {"200": approval, **_errors(("401", "403", "404", "500", "503"), APPROVAL_ERRORS)},
    )
    poll["security"] = [*AGENT_SECURITY, *STAFF_SECURITY]
    listing = {
        "type": "object",
        "properties": {"approvals": {"type": "array", "items": _ref("Approval")}},
        "required": ["approvals"],
    }
    paths: JsonObject = {
        "/v1/approvals": {
            "get": {
                **_staff(
                    "approvals_list",
                    "Held calls, optionally of one status.",
                    "Approver, operator or auditor role (the console's role matrix).",
                    {
                        "200": answer("The approvals", listing),
                        **_errors((*_READ, "422", "503"), APPROVAL_ERRORS),
                    },
                ),
                "parameters": [_query("status", {"enum": sorted(STATUSES)}, "e.g. pending")],
            }
        },
        "/v1/approvals/{id}": {"get": poll, "parameters": [_path("id", "apr_...")]},
    }
    for verb, what in (
        ("approve", "Approve a held call: it runs once, now, with its stored input."),
        ("reject", "Reject a held call: it never runs."),
    ):
        paths[f"/v1/approvals/{{id}}/{verb}"] = {
            "parameters": [_path("id", "apr_...")],
            "post": {
                **_staff(
                    f"approvals_{verb}",
                    what,
                    "Approver role; the reason goes into the audit trail. Only one decision "
                    "wins; the others get 409.",
                    {"200": approval, **_errors(_DECIDE, APPROVAL_ERRORS)},
                ),
                "requestBody": decision_body,
            },
        }
    return paths


def admin_paths() -> JsonObject:
    halt = answer("The halt", _ref("Halt"))
    halts = {
        "type": "object",
        "properties": {"halts": {"type": "array", "items": _ref("Halt")}},
        "required": ["halts"],
    }
    reloaded = {
        "type": "object",
        "properties": {"policies": {"type": "integer"}, "files": _STRINGS},
        "required": ["policies", "files"],
    }
    acts = (*_READ, "413", "422", "503")
    return {
        "/v1/admin/halts": {
            "post": {
                **_staff(
                    "admin_halts_create",
                    "Halt all traffic, or one agent, backend or operation.",
                    "Operator role. The next matching call is refused with 503 halted; "
                    "calls held for approval that are approved meanwhile fail with halted.",
                    {"201": {**halt, "description": "Halted"}, **_errors(acts)},
                ),
                "requestBody": {"required": True, **json_content(_ref("HaltRequest"))},
            },
            "get": _staff(
                "admin_halts_list",
                "The live halts.",
                "Operator role.",
                {"200": answer("The halts", halts), **_errors(_READ)},
            ),
        },
        "/v1/admin/halts/{id}": {
            "parameters": [_path("id", "all, or <scope>:<target>")],
            "delete": _staff(
                "admin_halts_delete",
                "Resume: lift one halt.",
                "Operator role.",
                {"200": halt, **_errors((*_READ, "404", "503"))},
            ),
        },
        "/v1/admin/policies/reload": {
            "post": _staff(
                "admin_policies_reload",
                "Re-read and validate the policy files; all or nothing.",
                "Operator role. A file with problems leaves the running policies in force "
                "(422 policy_invalid, listing the problems).",
                {"200": answer("The policies now in force", reloaded), **_errors(acts)},
            )
        },
        "/v1/admin/config": _config_paths(),
    }


_CONFIG_ERRORS = {
    **STAFF_ERRORS,
    "409": "The new text changes parts built at start-up (config_not_reloadable, listing "
    "them in fixed[]); nothing changed.",
    "413": "The configuration is larger than 1 MiB (payload_too_large).",
    "422": "The body does not fit (validation_failed), or the configuration has problems "
    "(config_invalid, listing them in problems[]); the configuration in force stays.",
    "503": "PostgreSQL or the audit trail cannot record the reload.",
}


def _config_paths() -> JsonObject:
    """``/v1/admin/config``: reload and show the reloadable configuration."""
    adoption = {
        "type": "object",
        "properties": {
            "config_version": {"type": "integer"},
            "source": {"type": "string"},
            "acknowledged": {"type": "boolean"},
            "confirmed_by": _STRINGS,
            "unconfirmed": _STRINGS,
            "refused_by": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "required": ["config_version", "acknowledged", "confirmed_by", "unconfirmed"],
    }
    shown = {
        "type": "object",
        "properties": {
            "config_version": {"type": "integer"},
            "text": _NULLABLE_TEXT,
            "error": _NULLABLE_TEXT,
            "reloadable": _STRINGS,
            "fixed": _STRINGS,
        },
        "required": ["config_version", "text", "reloadable", "fixed"],
    }
    request = {
        "type": "object",
        "properties": {
            "text": {"type": "string", "description": "gateway.yaml, ${ENV} as written"},
            "source": {"type": "string", "description": "where it came from, for the audit"},
        },
        "additionalProperties": False,
    }
    return {
        "post": {
            **_staff(
                "admin_config_reload",
                "Put a new configuration in force without a restart.",
                "Operator role. Agents, staff, policies, costs, budgets and "
                "resilience.rate_limits may change; the answer waits until every live "
                "process adopted the version (200) or names those that did not (202). "
                "Without text, the configuration in force is published again.",
                {
                    "200": answer("In force on every live process", adoption),
                    "202": answer("Stored, but not adopted everywhere", adoption),
                    **_errors((*_READ, "409", "413", "422", "503"), _CONFIG_ERRORS),
                },
            ),
            "requestBody": {"required": False, **json_content(request)},
        },
        "get": _staff(
            "admin_config_show",
            "The configuration version in force here, its text, and what a reload may change.",
            "Operator role.",
            {"200": answer("The configuration in force", shown), **_errors(_READ)},
        ),
    }


def audit_paths() -> JsonObject:
    page = {
        "type": "object",
        "properties": {
            "events": {"type": "array", "items": _ref("AuditEntry")},
            "next_cursor": _NULLABLE_TEXT,
        },
        "required": ["events", "next_cursor"],
    }
    text = {"type": "string"}
    filters = [_query(name, text) for name in sorted(FILTERS)]
    events_parameters = [
        *filters,
        _query("since", {"type": "string", "format": "date-time"}, "inclusive, ISO 8601"),
        _query("until", {"type": "string", "format": "date-time"}, "exclusive, ISO 8601"),
        _query("order", {"enum": ["asc", "desc"]}),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
        _query("cursor", text, "next_cursor of the previous page, with the same filters"),
    ]
    proof = {**_OBJECT, "description": "An RFC 9162 proof document (docs/audit.md)."}
    checkpoint = {
        "type": "object",
        "properties": {"public_key": text, "checkpoint": {"type": ["object", "null"]}},
        "required": ["public_key", "checkpoint"],
    }
    return {
        "/v1/audit/events": {
            "get": {
                **_staff(
                    "audit_events_list",
                    "Audit events matching every filter, oldest first, a page at a time.",
                    "Auditor role. Unknown parameters are 422.",
                    {"200": answer("A page", page), **_errors((*_READ, "422"))},
                ),
                "parameters": events_parameters,
            }
        },
        "/v1/audit/requests/{request_id}/proof": {
            "parameters": [_path("request_id", "req_...")],
            "get": _staff(
                "audit_proof_get",
                "The inclusion proof of one call's event under the latest checkpoint.",
                "Auditor role; check it with `lastmile audit check-proof`.",
                {"200": answer("The proof", proof), **_errors((*_READ, "404"))},
            ),
        },
        "/v1/audit/checkpoint": {
            "get": _staff(
                "audit_checkpoint_get",
                "The latest signed checkpoint and the public key that signs them.",
                "Auditor role.",
                {"200": answer("The checkpoint", checkpoint), **_errors(_READ)},
            )
        },
        "/v1/audit/consistency": {
            "get": {
                **_staff(
                    "audit_consistency_get",
                    "Proof that a later checkpoint extends an earlier one.",
                    "Auditor role; second defaults to the latest checkpoint.",
                    {"200": answer("The proof", proof), **_errors((*_READ, "404", "422"))},
                ),
                "parameters": [
                    {**_query("first", {"type": "integer", "minimum": 0}), "required": True},
                    _query("second", {"type": "integer", "minimum": 0}),
                ],
            }
        },
    }
