"""The oversight console at ``/console``: server-rendered pages for approvers, operators
and auditors (see docs/console.md). :func:`gateway.console.mount.add_console` mounts it;
this package file imports nothing, so the ``Record`` stage can use :mod:`.feed` freely."""
