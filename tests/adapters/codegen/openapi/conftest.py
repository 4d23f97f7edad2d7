"""The OpenAPI corpus and the generator's output for it, generated once per test session.

The corpus lives beside the clone (``<repo>/../shared/openapi-corpus``, as CI lays it
out); ``LASTMILE_OPENAPI_CORPUS`` points elsewhere. Square and SAP are over 1 MB each, so
every description is generated once per session, into one importable directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.codegen.naming import snake
from adapters.codegen.openapi import GeneratedOpenApiAdapter, generate_openapi_adapter
from tests.adapters.codegen import corpora
from tests.adapters.codegen.corpora import corpus_dir as shared_corpus
from tests.adapters.codegen.corpora import corpus_missing

REPO = Path(__file__).resolve().parents[4]
FIXTURES = Path(__file__).parent / "specs"


def corpus_dir() -> Path:
    return shared_corpus("LASTMILE_OPENAPI_CORPUS", "openapi-corpus")


def corpus_specs() -> dict[str, Path]:
    """Each corpus description by the package it is generated as (``oa_<folder>``)."""
    root = corpus_dir()
    if not root.is_dir():
        return {}
    return {f"oa_{snake(p.parent.name)}": p for p in sorted(root.glob("*/openapi.*"))}


CORPUS_MISSING = corpus_missing("OpenAPI", "LASTMILE_OPENAPI_CORPUS", "openapi-corpus")


Generated = corpora.Generated[GeneratedOpenApiAdapter]


@pytest.fixture(scope="session")
def generated_openapi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    """The corpus and the local fixture descriptions, generated into importable packages."""
    root = tmp_path_factory.mktemp("generated_openapi")
    sources = {
        **corpus_specs(),
        **{f"oa_fixture_{snake(p.stem)}": p for p in sorted(FIXTURES.glob("*.*"))},
        "oa_acme_wms": REPO / "sandbox" / "acme_warehouse.openapi.json",
    }
    yield from corpora.generate_importable(root, sources, generate_openapi_adapter)


@pytest.fixture
def corpus(generated_openapi: Generated) -> Generated:
    if not corpus_specs():
        pytest.skip(CORPUS_MISSING)
    return generated_openapi
