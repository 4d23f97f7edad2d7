"""The OData corpus and the generator's output for it, generated once per test session.

The corpus lives beside the clone (``<repo>/../shared/odata-corpus``, as CI lays it out);
``LASTMILE_ODATA_CORPUS`` points elsewhere. Each document is generated once per session
into one directory importable as packages, under short names (``od_<system>``) so the
operation names stay within 64 characters without digests.
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

from adapters.codegen.odata import GeneratedODataAdapter, generate_odata_adapter

REPO = Path(__file__).resolve().parents[4]
PACKAGES = {
    "od_bp": "sap-s4-api-business-partner-v2",
    "od_so": "sap-s4-api-sales-order-srv-v2",
    "od_gw": "sap-gw-sepmra-prod-man-v2",
    "od_rap": "sap-rap-dmo-travel-v4",
    "od_bc": "msbc-api-v2.0",
    "od_trip": "odata-trippin-v4",
}


def corpus_dir() -> Path:
    configured = os.environ.get("LASTMILE_ODATA_CORPUS")
    return Path(configured) if configured else REPO.parent / "shared" / "odata-corpus"


def corpus_documents() -> dict[str, Path]:
    """Each corpus document by the package it is generated as."""
    root = corpus_dir()
    found = {p: root / folder / "metadata.xml" for p, folder in PACKAGES.items()}
    return {p: path for p, path in found.items() if path.is_file()}


CORPUS_MISSING = (
    f"OData corpus not found at {corpus_dir()} (CI puts shared/ beside the clone; "
    "set LASTMILE_ODATA_CORPUS to its path)"
)


@dataclass(frozen=True)
class Generated:
    root: Path
    results: dict[str, GeneratedODataAdapter]

    def models(self, package: str) -> ModuleType:
        return importlib.import_module(f"{package}.models")

    def adapter(self, package: str) -> ModuleType:
        return importlib.import_module(f"{package}.adapter")


@pytest.fixture(scope="session")
def generated_odata(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    root = tmp_path_factory.mktemp("generated_odata")
    results = {
        package: generate_odata_adapter(str(path), package, root / package)
        for package, path in corpus_documents().items()
    }
    sys.path.insert(0, str(root))
    try:
        yield Generated(root, results)
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.split(".")[0] in results]:
            del sys.modules[name]


@pytest.fixture
def corpus(generated_odata: Generated) -> Generated:
    if len(generated_odata.results) < len(PACKAGES):
        pytest.skip(CORPUS_MISSING)
    return generated_odata
