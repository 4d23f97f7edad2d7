"""The OpenAPI corpus and the generator's output for it, generated once per test session.

The corpus lives beside the clone (``<repo>/../shared/openapi-corpus``, as CI lays it
out); ``LASTMILE_OPENAPI_CORPUS`` points elsewhere. Square and SAP are over 1 MB each, so
every description is generated once per session, into one importable directory.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from adapters.codegen.naming import snake
from adapters.codegen.openapi import GeneratedOpenApiAdapter, generate_openapi_adapter

REPO = Path(__file__).resolve().parents[4]
FIXTURES = Path(__file__).parent / "specs"


def corpus_dir() -> Path:
    configured = os.environ.get("LASTMILE_OPENAPI_CORPUS")
    return Path(configured) if configured else REPO.parent / "shared" / "openapi-corpus"


def corpus_specs() -> dict[str, Path]:
    """Each corpus description by the package it is generated as (``oa_<folder>``)."""
    root = corpus_dir()
    if not root.is_dir():
        return {}
    return {f"oa_{snake(p.parent.name)}": p for p in sorted(root.glob("*/openapi.*"))}


CORPUS_MISSING = (
    f"OpenAPI corpus not found at {corpus_dir()} (CI puts shared/ beside the clone; "
    "set LASTMILE_OPENAPI_CORPUS to its path)"
)


@dataclass(frozen=True)
class Generated:
    root: Path
    results: dict[str, GeneratedOpenApiAdapter]

    def models(self, package: str) -> ModuleType:
        return importlib.import_module(f"{package}.models")

    def adapter(self, package: str) -> ModuleType:
        return importlib.import_module(f"{package}.adapter")


@pytest.fixture(scope="session")
def generated_openapi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    """The corpus and the local fixture descriptions, generated into importable packages."""
    root = tmp_path_factory.mktemp("generated_openapi")
    sources = {
        **corpus_specs(),
        **{f"oa_fixture_{snake(p.stem)}": p for p in sorted(FIXTURES.glob("*.*"))},
        "oa_acme_wms": REPO / "sandbox" / "acme_warehouse.openapi.json",
    }
    results = {
        package: generate_openapi_adapter(str(spec), package, root / package)
        for package, spec in sources.items()
    }
    sys.path.insert(0, str(root))
    try:
        yield Generated(root, results)
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.split(".")[0] in results]:
            del sys.modules[name]


@pytest.fixture
def corpus(generated_openapi: Generated) -> Generated:
    if not corpus_specs():
        pytest.skip(CORPUS_MISSING)
    return generated_openapi
