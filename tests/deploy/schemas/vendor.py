"""Re-vendor the schemas tests/deploy validate against, from the packages that ship them.

Not run by the tests (they have no internet): run it by hand to move to newer schemas, then
update the versions in README.md beside it::

    pip download --no-deps check-jsonschema==0.39.0 kubernetes-validate==1.37.0 -d /tmp/w
    cd /tmp/w && unzip -oq 'check_jsonschema-*.whl' && unzip -oq 'kubernetes_validate-*.whl'
    python -m tests.deploy.schemas.vendor /tmp/w v1.34.0-local-strict

The Compose specification is copied whole. Of the Kubernetes definitions (1.5 MB) only
those the vendored kinds reach through ``$ref`` are kept; the kinds' files are unchanged.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
KINDS = (
    "configmap-v1.json",
    "deployment-apps-v1.json",
    "poddisruptionbudget-policy-v1.json",
    "secret-v1.json",
    "service-v1.json",
)
_PREFIXES = ("/api/_definitions.json#/$defs/", "#/$defs/")  # from a kind; within definitions


def _refs(node: Any) -> set[str]:
    """The names of the definitions ``node`` refers to."""
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        for prefix in _PREFIXES:
            if isinstance(ref, str) and ref.startswith(prefix):
                found.add(ref.removeprefix(prefix))
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def vendor(unpacked: Path, k8s_version: str) -> None:
    compose = unpacked / "check_jsonschema/builtin_schemas/vendor"
    shutil.copyfile(compose / "compose-spec.json", HERE / "compose-spec.json")
    shutil.copyfile(compose / "licenses/LICENSE.compose-spec", HERE / "LICENSE.compose-spec")

    source = unpacked / "kubernetes_validate/kubernetes-json-schema" / k8s_version
    target = HERE / "kubernetes" / k8s_version
    target.mkdir(parents=True, exist_ok=True)
    definitions = json.loads((source / "_definitions.json").read_text())
    wanted: set[str] = set()
    todo: set[str] = set()
    for kind in KINDS:
        shutil.copyfile(source / kind, target / kind)
        todo |= _refs(json.loads((source / kind).read_text()))
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo |= _refs(definitions["$defs"][name]) - wanted
    pruned = {key: value for key, value in definitions.items() if key != "$defs"}
    pruned["$defs"] = {name: definitions["$defs"][name] for name in sorted(wanted)}
    (target / "_definitions.json").write_text(json.dumps(pruned, indent=1, sort_keys=True))
    shutil.copyfile(
        unpacked / "kubernetes_validate-1.37.0.dist-info/licenses/LICENSE",
        HERE / "LICENSE.kubernetes-validate",
    )


if __name__ == "__main__":
    vendor(Path(sys.argv[1]), sys.argv[2])
