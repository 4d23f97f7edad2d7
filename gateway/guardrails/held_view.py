"""A held call as one staff member may see it: the input (and the output, once run)
masked by their ``may_see``, with the reason for each masked input field, and the stored
preview (budgets, the legacy request, before and after), its backend-shaped parts
withheld when they would show what their ``may_see`` does not cover.

The console's approvals pages and ``GET /v1/approvals[/{id}]`` both show held calls to
people; they go through :func:`held_view` so the two faces can never disagree on what
a person sees. The held call itself keeps the whole input, since it runs as asked: the
mask is applied per person, on view, by the same plans that mask answers for agents.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from adapters.base import Operation
from gateway.guardrails.approval_store import HeldCall
from gateway.guardrails.redaction import Redactor

MASK = Redactor("mask")  # masked, never dropped: the person sees that a field is there
UNKNOWN = "[masked]"


@dataclass(frozen=True, slots=True)
class InputField:
    """One input leaf as this person may see it; ``hidden`` says why it is masked."""

    name: str
    value: str
    hidden: str | None = None


@dataclass(frozen=True, slots=True)
class Preview:
    """What the call would do, worked out when it was held. ``withheld`` says why the
    legacy request and before/after are not shown (they are then None)."""

    budgets: list[dict[str, Any]]
    backend: str | None
    note: str | None
    withheld: str | None
    backend_request: dict[str, Any] | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def changes(self) -> list[tuple[str, str, str, bool]]:
        """(field, before, after, changed) for every field either side names."""
        before, after = self.before or {}, self.after or {}
        return [
            (key, _text(before.get(key)), _text(after.get(key)), before.get(key) != after.get(key))
            for key in sorted({*before, *after})
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "budgets": self.budgets,
            "backend": self.backend,
            "note": self.note,
            "withheld": self.withheld,
            "backend_request": self.backend_request,
            "before": self.before,
            "after": self.after,
        }


@dataclass(frozen=True, slots=True)
class HeldView:
    input: Any  # the input's JSON form, masked
    fields: list[InputField]
    preview: Preview | None  # None: held before previews were stored
    result: Any  # the output once run (as the agent saw it), masked for this person too

    def as_json(self) -> dict[str, Any]:
        """The API's form: ``input`` masked, ``masked`` naming each masked field and why."""
        return {
            "input": self.input,
            "result": self.result,
            "masked": [{"field": f.name, "reason": f.hidden} for f in self.fields if f.hidden],
            "preview": self.preview.as_json() if self.preview is not None else None,
        }


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """The input as {dotted field: leaf value}, nested objects and lists flattened."""
    if isinstance(value, dict) and value:
        return {
            k: v
            for key, item in value.items()
            for k, v in _flatten(item, f"{prefix}.{key}" if prefix else str(key)).items()
        }
    if isinstance(value, list) and value:
        return {
            k: v
            for index, item in enumerate(value)
            for k, v in _flatten(item, f"{prefix}[{index}]").items()
        }
    return {prefix or "(input)": value}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _mask_all(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _mask_all(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask_all(item) for item in value]
    return UNKNOWN


def _shown_as(shown: dict[str, Any], name: str) -> Any:
    """The masked value standing for leaf ``name``: itself, or the masked object or list
    that contains it (a whole nested value of a sensitive category is one mask)."""
    while name not in shown:
        cut = max(name.rfind("."), name.rfind("["))
        if cut <= 0:
            return None
        name = name[:cut]
    return shown[name]


def _fields(raw: Any, masked: Any) -> list[InputField]:
    shown = _flatten(masked)
    rows = []
    for name, value in _flatten(raw).items():
        stands_for = _shown_as(shown, name)
        if stands_for == value:
            rows.append(InputField(name, _text(value)))
        else:
            category = str(stands_for).removeprefix("[redacted:").removesuffix("]")
            why = f"sensitive ({category}); your may_see does not include {category!r}"
            rows.append(InputField(name, str(stands_for), why))
    return rows


def withheld(operation: Operation | None, may_see: frozenset[str]) -> str | None:
    """Why the legacy request and before/after are withheld from this person, or None.
    They carry the input's values and the record's fields in the backend's own shape,
    which the masking plans do not cover, so they are shown only to someone who may see
    every sensitive category of the operation's input and output."""
    if operation is None:
        return "the operation is no longer in the catalog, so its sensitive fields are unknown"
    held = MASK.categories(operation.input_model) | MASK.categories(operation.output_model)
    missing = sorted(held - may_see)
    if not missing:
        return None
    return (
        "they carry sensitive fields in the backend's own form "
        f"({', '.join(missing)}) that your may_see does not include"
    )


def _preview(held: HeldCall, operation: Operation | None, may_see: frozenset[str]) -> Preview:
    stored = held.preview or {}
    why = withheld(operation, may_see)
    return Preview(
        budgets=list(stored.get("budgets") or []),
        backend=stored.get("backend"),
        note=stored.get("note"),
        withheld=why,
        backend_request=None if why else stored.get("backend_request"),
        before=None if why else stored.get("before"),
        after=None if why else stored.get("after"),
    )


def held_view(held: HeldCall, operation: Operation | None, may_see: frozenset[str]) -> HeldView:
    """``held`` as a person with ``may_see`` may see it; ``operation`` is the catalog's
    (None when it left the catalog: then no field is known safe and all are masked)."""
    raw = json.loads(held.input_json)
    preview = _preview(held, operation, may_see) if held.preview is not None else None
    if operation is None:
        why = f"{held.operation!r} is no longer in the catalog, so no field is known safe"
        rows = [InputField(name, UNKNOWN, why) for name in _flatten(raw)]
        result = None if held.result is None else _mask_all(held.result)
        return HeldView(_mask_all(raw), rows, preview, result)
    masked = MASK.redact(operation.input_model, raw, may_see)
    if held.result is not None:
        result = MASK.redact(operation.output_model, held.result, may_see)
    else:
        result = None
    return HeldView(masked, _fields(raw, masked), preview, result)
