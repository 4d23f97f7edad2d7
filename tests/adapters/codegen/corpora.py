"""What the three generators' corpus tests share: where a corpus lives, why its tests skip,
and a session's generated packages made importable.

Each corpus lives beside the clone (``<repo>/../shared/<folder>``, as CI lays it out); an
environment variable points elsewhere (``LASTMILE_WSDL_CORPUS`` ...).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Generic, TypeVar

REPO = Path(__file__).resolve().parents[3]
Result = TypeVar("Result")


def corpus_dir(variable: str, folder: str) -> Path:
    configured = os.environ.get(variable)
    return Path(configured) if configured else REPO.parent / "shared" / folder


def corpus_missing(kind: str, variable: str, folder: str) -> str:
    return (
        f"{kind} corpus not found at {corpus_dir(variable, folder)} (CI puts shared/ beside "
        f"the clone; set {variable} to its path)"
    )


@dataclass(frozen=True)
class Generated(Generic[Result]):
    """Where the generated packages are, and what the generator reported for each."""

    root: Path
    results: dict[str, Result]

    def models(self, package: str) -> ModuleType:
        return importlib.import_module(f"{package}.models")

    def adapter(self, package: str) -> ModuleType:
        return importlib.import_module(f"{package}.adapter")


def generate_importable(
    root: Path, sources: Mapping[str, Path], generate: Callable[[str, str, Path], Result]
) -> Iterator[Generated[Result]]:
    """Generate each source as a package under ``root``, importable while the caller
    holds the generator open; the packages are forgotten afterwards."""
    results = {
        package: generate(str(path), package, root / package) for package, path in sources.items()
    }
    sys.path.insert(0, str(root))
    try:
        yield Generated(root, results)
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.split(".")[0] in results]:
            del sys.modules[name]
