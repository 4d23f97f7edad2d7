"""The WSDL corpus and the generator's output for it, generated once per test session.

The corpus lives beside the clone (``<repo>/../shared/wsdl-corpus``, as CI lays it out);
``LASTMILE_WSDL_CORPUS`` points elsewhere. NetSuite alone is 46 XSDs, so every WSDL is
generated once per session, into one directory importable as packages.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.codegen import GeneratedAdapter, generate_adapter
from adapters.codegen.naming import snake
from tests.adapters.codegen import corpora
from tests.adapters.codegen.corpora import corpus_dir as shared_corpus
from tests.adapters.codegen.corpora import corpus_missing

REPO = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).parent / "wsdl"


def corpus_dir() -> Path:
    return shared_corpus("LASTMILE_WSDL_CORPUS", "wsdl-corpus")


def corpus_wsdls() -> dict[str, Path]:
    """Each corpus WSDL by the package name it is generated as (``gen_<folder>``)."""
    root = corpus_dir()
    if not root.is_dir():
        return {}
    return {f"gen_{snake(path.parent.name)}": path for path in sorted(root.glob("*/*.wsdl"))}


CORPUS_MISSING = corpus_missing("WSDL", "LASTMILE_WSDL_CORPUS", "wsdl-corpus")


Generated = corpora.Generated[GeneratedAdapter]


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    """The corpus and the local fixture WSDLs, generated into importable packages."""
    root = tmp_path_factory.mktemp("generated")
    sources = {
        **corpus_wsdls(),
        "gen_orders": FIXTURES / "orders.wsdl",
        "gen_quirks": FIXTURES / "quirks.wsdl",
    }
    yield from corpora.generate_importable(root, sources, generate_adapter)


@pytest.fixture
def corpus(generated: Generated) -> dict[str, Path]:
    wsdls = corpus_wsdls()
    if not wsdls:
        pytest.skip(CORPUS_MISSING)
    return wsdls
