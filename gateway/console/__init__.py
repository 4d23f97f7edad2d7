"""The oversight console at ``/console``: server-rendered pages for approvers, operators
and auditors (see docs/console.md). :func:`gateway.console.mount.add_console` mounts it.
The live feed of completed calls it reads lives below the faces, in
:mod:`gateway.audit.feed`, since it follows the audit store every process writes."""
