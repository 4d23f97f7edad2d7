"""Which lastmile this is: the installed distribution's version, from its metadata.

Package metadata is what ``pip`` and the container image agree on; a source tree run
without installing (``python -m gateway`` from a checkout) has none, so the version
written in ``gateway/__init__.py`` answers instead.
"""

from __future__ import annotations

from importlib import metadata

import gateway

DISTRIBUTION = "lastmile-gateway"


def installed_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return gateway.__version__
