"""The WSDL corpus and the generator's output for it, generated once per test session.

The corpus lives beside the clone (``<repo>/../shared/wsdl-corpus``, as CI lays it out);
``LASTMILE_WSDL_CORPUS`` points elsewhere. NetSuite alone is 46 XSDs, so every WSDL is
generated once per session, into one directory importable as packages.
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

from adapters.codegen import GeneratedAdapter, generate_adapter
from adapters.codegen.naming import snake

REPO = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).parent / "wsdl"


def corpus_dir() -> Path:
    configured = os.environ.get("LASTMILE_WSDL_CORPUS")
    return Path(configured) if configured else REPO.parent / "shared" / "wsdl-corpus"


def corpus_wsdls() -> dict[str, Path]:
    """Each corpus WSDL by the package name it is generated as (``gen_<folder>``)."""
    root = corpus_dir()
    if not root.is_dir():
        return {}
    return {f"gen_{snake(path.parent.name)}": path for path in sorted(root.glob("*/*.wsdl"))}


CORPUS_MISSING = (
    f"WSDL corpus not found at {corpus_dir()} (CI puts shared/ beside the clone; "
    "set LASTMILE_WSDL_CORPUS to its path)"
)


@dataclass(frozen=True)
class Generated:
    """Where the generated packages are, and what the generator reported for each."""

    root: Path
    results: dict[str, GeneratedAdapter]

    def models(self, package: str) -> ModuleType:
        return importlib.import_module(f"{package}.models")

    def adapter(self, package: str) -> ModuleType:
        return importlib.import_module(f"{package}.adapter")


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    """The corpus and the local fixture WSDLs, generated into importable packages."""
    root = tmp_path_factory.mktemp("generated")
    sources = {
        **corpus_wsdls(),
        "gen_orders": FIXTURES / "orders.wsdl",
        "gen_quirks": FIXTURES / "quirks.wsdl",
    }
    results = {
        package: generate_adapter(str(wsdl), package, root / package)
        for package, wsdl in sources.items()
    }
    sys.path.insert(0, str(root))
    try:
        yield Generated(root, results)
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.split(".")[0] in results]:
            del sys.modules[name]


@pytest.fixture
def corpus(generated: Generated) -> dict[str, Path]:
    wsdls = corpus_wsdls()
    if not wsdls:
        pytest.skip(CORPUS_MISSING)
    return wsdls
