"""lastmile: a guarded gateway between AI agents and systems of record."""

__version__ = "0.1.0"
"""The release this source tree is; the installed package's metadata wins when present
(see :func:`gateway.version.installed_version`)."""
