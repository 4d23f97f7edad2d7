"""The OData corpus and the generator's output for it, generated once per test session.

The corpus lives beside the clone (``<repo>/../shared/odata-corpus``, as CI lays it out);
``LASTMILE_ODATA_CORPUS`` points elsewhere. Each document is generated once per session
into one directory importable as packages, under short names (``od_<system>``) so the
operation names stay within 64 characters without digests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.codegen.odata import GeneratedODataAdapter, generate_odata_adapter
from tests.adapters.codegen import corpora
from tests.adapters.codegen.corpora import corpus_dir as shared_corpus
from tests.adapters.codegen.corpora import corpus_missing

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
    return shared_corpus("LASTMILE_ODATA_CORPUS", "odata-corpus")


def corpus_documents() -> dict[str, Path]:
    """Each corpus document by the package it is generated as."""
    root = corpus_dir()
    found = {p: root / folder / "metadata.xml" for p, folder in PACKAGES.items()}
    return {p: path for p, path in found.items() if path.is_file()}


CORPUS_MISSING = corpus_missing("OData", "LASTMILE_ODATA_CORPUS", "odata-corpus")


Generated = corpora.Generated[GeneratedODataAdapter]


@pytest.fixture(scope="session")
def generated_odata(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    root = tmp_path_factory.mktemp("generated_odata")
    yield from corpora.generate_importable(root, corpus_documents(), generate_odata_adapter)


@pytest.fixture
def corpus(generated_odata: Generated) -> Generated:
    if len(generated_odata.results) < len(PACKAGES):
        pytest.skip(CORPUS_MISSING)
    return generated_odata
