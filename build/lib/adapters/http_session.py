"""The pooled aiohttp session every HTTP-speaking adapter kind opens for its backend."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp


def pooled_session(
    *,
    headers: Mapping[str, str],
    max_connections: int,
    basic_auth: tuple[str, str] | None = None,
    bearer_token: str | None = None,
) -> aiohttp.ClientSession:
    """One session for the life of the process: its connector pools connections; the
    backend's credentials ride on every request as a default header."""
    sent = dict(headers)
    if bearer_token:
        sent["Authorization"] = f"Bearer {bearer_token}"
    if basic_auth:
        sent["Authorization"] = aiohttp.encode_basic_auth(*basic_auth)
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=max_connections),
        headers=sent,
        raise_for_status=False,
    )
