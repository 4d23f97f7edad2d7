"""The adapter generated from the pet-shop fixture, unedited, against a real HTTP server.

The server (on a free loopback port) pages its lists in each style the generator
detects, checks credentials (an API key, or OAuth 2.0 client-credentials tokens it
issues and can revoke) and records what it was sent, so each test asserts what reached
the wire.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import BaseModel

from adapters.base import Operation
from adapters.http_auth import ClientCredentials
from adapters.rest import RestAdapter, RestSettings
from schemas.errors import BackendError, BackendNotFound, ContractViolation
from tests.adapters.codegen.openapi.conftest import Generated

PETS = "oa_fixture_pets"
CATS = [{"id": f"123e4567-e89b-42d3-a456-42661417400{i}", "name": f"Cat {'x' * i}",
         "petType": "cat", "lives": i} for i in range(5)]  # fmt: skip
THINGS = [{"id": i} for i in range(7)]


@dataclass
class Shop:
    """What the server saw, and its switches."""

    key: str | None = None  # the API key it requires, if any
    client_secret: str | None = None  # with OAuth: the client's secret
    tokens: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    requests: list[web.Request] = field(default_factory=list)
    bodies: list[Any] = field(default_factory=list)
    foreign_link: str = ""
    broken: bool = False  # lists answer a bare string, outside their description


SHOP = web.AppKey("shop", Shop)


def _shop_app(shop: Shop) -> web.Application:
    app = web.Application()
    app[SHOP] = shop

    @web.middleware
    async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/api/"):
            shop.requests.append(request)
            if shop.key is not None and request.headers.get("X-Shop-Key") != shop.key:
                return web.json_response({"message": "no key"}, status=401)
            if shop.client_secret is not None:
                token = request.headers.get("Authorization", "").removeprefix("Bearer ")
                if token not in shop.tokens or token in shop.revoked:
                    return web.json_response({"message": "bad token"}, status=401)
        return await handler(request)  # type: ignore[no-any-return]

    app.middlewares.append(guard)
    app.router.add_post("/oauth/token", _token)
    app.router.add_get("/api/pets", _pets)
    app.router.add_post("/api/pets", _add_pet)
    app.router.add_get("/api/pets/{petId}", _no_pet)
    app.router.add_get("/api/animals", _animals)
    app.router.add_get("/api/things", _things)
    app.router.add_get("/api/linked", _linked)
    app.router.add_post("/api/notes", _add_note)
    app.router.add_get("/api/notes", _find_notes)
    return app


async def _add_note(request: web.Request) -> web.Response:
    form = await request.post()
    request.app[SHOP].bodies.append(dict(form))
    return web.json_response({"text": form["text"], "urgent": form.get("urgent") == "true"})


async def _find_notes(request: web.Request) -> web.Response:
    return web.json_response([{"text": t} for t in request.query.getall("tags", [])])


async def _token(request: web.Request) -> web.Response:
    shop = request.app[SHOP]
    form = await request.post()
    sent = request.headers.get("Authorization", "").removeprefix("Basic ")
    password = base64.b64decode(sent).decode().partition(":")[2] if sent else ""
    if form.get("grant_type") != "client_credentials" or password != shop.client_secret:
        return web.json_response({"error": "invalid_client"}, status=401)
    shop.tokens.append(f"token-{len(shop.tokens) + 1}")
    return web.json_response({"access_token": shop.tokens[-1], "expires_in": 60})


async def _pets(request: web.Request) -> web.Response:
    if request.app[SHOP].broken:
        return web.json_response("not a page")
    start = int(request.query.get("cursor") or 0)
    following = start + 2 if start + 2 < len(CATS) else None
    return web.json_response(
        {
            "items": CATS[start : start + 2],
            "next_cursor": None if following is None else str(following),
        }
    )


async def _add_pet(request: web.Request) -> web.Response:
    body = await request.json()
    request.app[SHOP].bodies.append(body)
    return web.json_response({**body, "id": "123e4567-e89b-42d3-a456-426614174999"}, status=201)


async def _no_pet(request: web.Request) -> web.Response:
    return web.json_response({"message": "gone"}, status=404)


async def _animals(request: web.Request) -> web.Response:
    page, size = int(request.query.get("page", 1)), int(request.query.get("per_page", 3))
    return web.json_response({"data": THINGS[(page - 1) * size : page * size]})


async def _things(request: web.Request) -> web.Response:
    offset, limit = int(request.query.get("offset", 0)), int(request.query.get("limit", 2))
    return web.json_response({"results": THINGS[offset : offset + limit]})


async def _linked(request: web.Request) -> web.Response:
    page = int(request.query.get("p", 1))
    shop = request.app[SHOP]
    link = f'</api/linked?p={page + 1}>; rel="next"' if page == 1 else shop.foreign_link
    return web.json_response(THINGS[page - 1 : page], headers={"Link": link} if link else {})


@pytest.fixture
async def shop() -> AsyncIterator[tuple[Shop, TestServer]]:
    state = Shop()
    server = TestServer(_shop_app(state), host="127.0.0.1")
    await server.start_server()
    yield state, server
    await server.close()


class Served:
    def __init__(self, adapter: RestAdapter) -> None:
        self.adapter = adapter
        self.ops = {op.name.split(".", 1)[1]: op for op in adapter.operations}

    async def call(self, name: str, payload: dict[str, Any], key: str | None = None) -> Any:
        op: Operation = self.ops[name]
        model: BaseModel = op.input_model.model_validate_json(json.dumps(payload))  # as agents
        raw = await self.adapter.call(op, model, backend_key=key)
        op.output_model.model_validate(raw, strict=False)  # the answer fits the contract
        return raw


@pytest.fixture
async def served(generated_openapi: Generated, shop: tuple[Shop, TestServer]) -> AsyncIterator[Any]:
    adapters: list[RestAdapter] = []

    async def serve(**settings: Any) -> Served:
        base = str(shop[1].make_url("/api"))
        adapter = RestAdapter(
            "pets",
            RestSettings(base_url=base, total_timeout_s=5, **settings),
            generated_openapi.adapter(PETS).operations,
        )
        await adapter.start()
        adapters.append(adapter)
        return Served(adapter)

    yield serve
    for adapter in adapters:
        await adapter.close()


async def test_swagger_2_forms_csv_and_multi_queries_and_headers_go_where_described(
    generated_openapi: Generated, shop: tuple[Shop, TestServer]
) -> None:
    state, server = shop
    adapter = RestAdapter(
        "legacy",
        RestSettings(base_url=str(server.make_url("/api")), total_timeout_s=5),
        generated_openapi.adapter("oa_fixture_legacy_swagger").operations,
    )
    await adapter.start()
    try:
        api = Served(adapter)
        note = await api.call("notes.add_note", {"body": {"text": "call back", "urgent": True}})
        assert note == {"text": "call back", "urgent": True}
        assert state.bodies[-1] == {"text": "call back", "urgent": "true"}
        assert state.requests[-1].content_type == "application/x-www-form-urlencoded"

        query = {"ids": [1, 2], "tags": ["a", "b"], "X-Trace": "abc"}
        found = await api.call("notes.find_notes", query)
        assert found == {"items": [{"text": "a"}, {"text": "b"}]}
        sent = state.requests[-1]
        assert sent.query.getall("ids") == ["1,2"]  # Swagger 2.0's default: csv
        assert sent.query.getall("tags") == ["a", "b"]  # collectionFormat: multi
        assert sent.headers["X-Trace"] == "abc"
        with pytest.raises(ValueError, match="text"):
            await api.call("notes.add_note", {"body": {"text": "x" * 13}})
        await api.call("notes.find_notes", {"X-Caller": "bot-7"})
        assert state.requests[-1].headers["X-Caller"] == "bot-7"
        with pytest.raises(ValueError, match="X-Caller"):  # would split the request
            await api.call("notes.find_notes", {"X-Caller": "bot\r\nX-Admin: yes"})
    finally:
        await adapter.close()


async def test_cursor_pages_are_followed_up_to_the_cap(served: Any, shop: Any) -> None:
    api = await served(max_pages=2)
    answer = await api.call("pets.list_pets", {"kind": ["cat", "dog"]})
    assert [p["lives"] for p in answer["items"]] == [0, 1, 2, 3]
    assert answer["next_cursor"] == "4"  # where the agent may go on
    assert shop[0].requests[0].query.getall("kind") == ["cat", "dog"]
    assert len(shop[0].requests) == 2


async def test_an_answer_outside_its_description_is_a_contract_violation(
    served: Any, shop: Any
) -> None:
    shop[0].broken = True
    api = await served()
    with pytest.raises(ContractViolation):
        await api.call("pets.list_pets", {})
    assert len(shop[0].requests) == 1


async def test_an_agent_paging_itself_gets_one_page(served: Any, shop: Any) -> None:
    api = await served()
    answer = await api.call("pets.list_pets", {"cursor": "2"})
    assert [p["lives"] for p in answer["items"]] == [2, 3]
    assert len(shop[0].requests) == 1


@pytest.mark.parametrize(
    ("operation", "payload", "field_name", "requests"),
    [
        ("paging.list_animals", {"per_page": 3}, "data", 3),  # 3 + 3 + 1: a short page ends it
        ("paging.list_things", {"limit": 2}, "results", 4),  # 2 + 2 + 2 + 1
    ],
)
async def test_page_and_offset_paging_read_every_item(
    served: Any, shop: Any, operation: str, payload: dict[str, Any], field_name: str, requests: int
) -> None:
    api = await served()
    answer = await api.call(operation, payload)
    assert answer[field_name] == THINGS
    assert len(shop[0].requests) == requests


async def test_a_link_header_is_followed_on_the_same_origin_only(served: Any, shop: Any) -> None:
    shop[0].foreign_link = '<http://elsewhere.example.invalid/api/linked?p=3>; rel="next"'
    api = await served()
    answer = await api.call("paging.list_linked", {})
    assert answer == {"items": THINGS[:2]}
    assert [r.query.get("p") for r in shop[0].requests] == [None, "2"]


async def test_the_backend_key_is_the_idempotency_key_and_read_only_fields_stay_out(
    served: Any, shop: Any
) -> None:
    api = await served()
    pet = {"name": "Tom", "petType": "cat", "lives": 9}
    with pytest.raises(ValueError, match="id"):
        await api.call("pets.add_pet", {"body": {**pet, "id": CATS[0]["id"]}})
    answer = await api.call("pets.add_pet", {"body": pet}, key="LM0123456789abcdef")
    assert answer["value"]["id"].endswith("4999")
    assert shop[0].requests[-1].headers["Idempotency-Key"] == "LM0123456789abcdef"
    assert shop[0].bodies[-1] == pet
    await api.call("pets.add_pet", {"body": pet})  # no gateway key: still one per call
    assert len(shop[0].requests[-1].headers["Idempotency-Key"]) == 32


async def test_documented_errors_reach_the_agent_with_their_meaning(served: Any) -> None:
    api = await served()
    with pytest.raises(BackendNotFound) as raised:
        await api.call("pets.get_pets_by_key", {"petId": CATS[0]["id"]})
    assert "gone" in raised.value.detail
    assert "the API documents HTTP 404 as: No such pet." in raised.value.detail


async def test_an_api_key_rides_on_every_request(served: Any, shop: Any) -> None:
    shop[0].key = "k3y-from-config"
    api = await served(api_key=("X-Shop-Key", "k3y-from-config"))
    assert (await api.call("paging.list_things", {"limit": 10}))["results"] == THINGS


async def test_client_credentials_tokens_are_fetched_once_cached_and_renewed(
    served: Any, shop: Any
) -> None:
    state, server = shop
    state.client_secret = "s3cret"
    now = [1000.0]
    credentials = ClientCredentials(
        token_url=str(server.make_url("/oauth/token")), client_id="lastmile",
        client_secret="s3cret", clock=lambda: now[0],
    )  # fmt: skip
    api = await served(oauth2=credentials)

    await asyncio.gather(*(api.call("paging.list_things", {"limit": 10}) for _ in range(5)))
    assert state.tokens == ["token-1"]  # five calls at once, one token

    now[0] += 45  # within 30 s of its 60 s lifetime: renewed before it runs out
    await api.call("paging.list_things", {"limit": 10})
    assert state.tokens == ["token-1", "token-2"]

    state.revoked.add("token-2")  # revoked early: one 401, a fresh token, the call succeeds
    await api.call("paging.list_things", {"limit": 10})
    assert state.tokens[-1] == "token-3"


async def test_refused_client_credentials_are_an_error_without_the_secret(
    served: Any, shop: Any
) -> None:
    state, server = shop
    state.client_secret = "the-right-one"
    credentials = ClientCredentials(
        token_url=str(server.make_url("/oauth/token")), client_id="lastmile",
        client_secret="a-wrong-s3cret",
    )  # fmt: skip
    api = await served(oauth2=credentials)
    with pytest.raises(BackendError) as raised:
        await api.call("paging.list_things", {})
    assert "a-wrong-s3cret" not in raised.value.detail
    assert "client credentials" in raised.value.detail
    assert state.requests == []  # the API itself was never called without a token
