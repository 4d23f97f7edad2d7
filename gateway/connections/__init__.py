"""The HTTP connections one gateway process holds: read deadlines, idle close, a cap.

``config`` is the ``server.connections`` section; ``budget`` turns it into numbers for
this process (the cap may follow the open-file limit); ``handler`` is aiohttp's
connection protocol with the deadlines added; ``rejection`` answers connections beyond
the cap; ``runner`` builds the server the way ``lastmile serve`` runs it.

This package imports nothing at package level, so the config model stays cheap to load.
"""
