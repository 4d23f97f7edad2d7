"""Loading is safe: no entities, no DTDs, nothing from the network but the WSDL's own origin."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.codegen import GeneratorError, generate_adapter, load_wsdl
from gateway.cli import main
from tests.adapters.codegen.conftest import FIXTURES

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"><documentation>&secret;</documentation>
</definitions>"""
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"><documentation>&lol3;</documentation>
</definitions>"""


@pytest.mark.parametrize("payload", [XXE, BILLION_LAUGHS], ids=["xxe", "billion-laughs"])
def test_documents_with_a_dtd_are_refused(tmp_path: Path, payload: bytes) -> None:
    wsdl = tmp_path / "hostile.wsdl"
    wsdl.write_bytes(payload)
    with pytest.raises(GeneratorError, match="DTDs are forbidden"):
        load_wsdl(str(wsdl))


def test_a_hostile_imported_schema_is_refused_too(tmp_path: Path) -> None:
    (tmp_path / "common.xsd").write_bytes(XXE.replace(b"definitions", b"schema"))
    for name in ("orders.wsdl", "orders-types.xsd"):
        (tmp_path / name).write_bytes((FIXTURES / name).read_bytes())
    with pytest.raises(GeneratorError, match=r"common\.xsd: DTDs are forbidden"):
        load_wsdl(str(tmp_path / "orders.wsdl"))


def test_a_local_wsdl_may_not_import_from_the_network(tmp_path: Path) -> None:
    text = (FIXTURES / "orders.wsdl").read_text()
    remote = 'schemaLocation="http://127.0.0.1:9/common.xsd"'
    (tmp_path / "orders.wsdl").write_text(text.replace('schemaLocation="common.xsd"', remote))
    with pytest.raises(GeneratorError, match="a local WSDL may only import local files"):
        load_wsdl(str(tmp_path / "orders.wsdl"))


def test_imports_and_chameleon_includes_are_all_loaded_once() -> None:
    loaded = load_wsdl(str(FIXTURES / "orders.wsdl"))
    sources = sorted(Path(s.source).name for s in loaded.schemas)
    assert sources == ["common.xsd", "orders-types.xsd", "orders.wsdl"]
    included = next(s for s in loaded.schemas if s.source.endswith("orders-types.xsd"))
    assert included.target_namespace == "urn:example:orders"  # took the includer's namespace


def _serve(routes: dict[str, bytes]) -> web.Application:
    app = web.Application()
    for path, body in routes.items():

        async def handler(request: web.Request, body: bytes = body) -> web.Response:
            return web.Response(body=body, content_type="text/xml")

        app.router.add_get(path, handler)
    return app


async def test_a_remote_wsdl_is_fetched_with_its_relative_imports(tmp_path: Path) -> None:
    files = {f"/ws/{p.name}": p.read_bytes() for p in FIXTURES.iterdir()}
    server = TestServer(_serve(files), host="127.0.0.1")
    await server.start_server()
    try:
        url = str(server.make_url("/ws/orders.wsdl"))
        result = await asyncio.to_thread(generate_adapter, url, "remote_orders", tmp_path / "out")
    finally:
        await server.close()
    assert result.operations == 2
    assert "class GetOrder(WsdlModel)" in (tmp_path / "out" / "models.py").read_text()


async def test_a_remote_wsdl_may_not_import_from_another_origin(tmp_path: Path) -> None:
    text = (FIXTURES / "orders.wsdl").read_bytes()
    other = b'schemaLocation="http://localhost:9/common.xsd"'
    files = {"/orders.wsdl": text.replace(b'schemaLocation="common.xsd"', other)}
    server = TestServer(_serve(files), host="127.0.0.1")
    await server.start_server()
    try:
        url = str(server.make_url("/orders.wsdl"))
        with pytest.raises(GeneratorError, match=r"must stay on http://127\.0\.0\.1"):
            await asyncio.to_thread(load_wsdl, url)
    finally:
        await server.close()


def test_cli_generates_a_package(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "orders"
    code = main(["adapter", "new", "--wsdl", str(FIXTURES / "orders.wsdl"), "--name", "orders",
                 "--out", str(out), "--owner", "team-finance"])  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "__init__.py",
        "adapter.py",
        "contract_samples.json",
        "gateway.snippet.yaml",
        "models.py",
        "permit.cedar",
        "test_contract.py",
    ]
    assert 'owner="team-finance"' in (out / "adapter.py").read_text()
    assert "2 operation(s)" in capsys.readouterr().out


def test_cli_keeps_an_engineers_edits_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["adapter", "new", "--wsdl", str(FIXTURES / "orders.wsdl"), "--name", "orders",
            "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    (tmp_path / "adapter.py").write_text("# reviewed by hand\n")
    assert main(argv) == 2
    assert "adapter.py" in capsys.readouterr().err
    assert (tmp_path / "adapter.py").read_text() == "# reviewed by hand\n"
    assert main([*argv, "--force"]) == 0
    assert "operations: OperationSet[SoapClient]" in (tmp_path / "adapter.py").read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--wsdl", "missing.wsdl", "--name", "x"], "cannot read"),
        (["--wsdl", str(FIXTURES / "orders.wsdl"), "--name", "Bad-Name"], "--name 'Bad-Name'"),
        (["--wsdl", str(FIXTURES / "common.xsd"), "--name", "x"], "not a WSDL"),
    ],
)
def test_cli_reports_bad_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["adapter", "new", *argv, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


async def test_a_redirect_to_another_origin_is_refused() -> None:
    elsewhere = TestServer(_serve({"/orders.wsdl": (FIXTURES / "orders.wsdl").read_bytes()}))
    await elsewhere.start_server()
    target = str(elsewhere.make_url("/orders.wsdl"))

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound(target)

    app = web.Application()
    app.router.add_get("/orders.wsdl", moved)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        url = str(server.make_url("/orders.wsdl"))
        with pytest.raises(GeneratorError, match="refusing a redirect to http://127"):
            await asyncio.to_thread(load_wsdl, url)
    finally:
        await server.close()
        await elsewhere.close()


async def test_an_oversized_remote_document_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("adapters.codegen.loader.MAX_DOCUMENT_BYTES", 1024)
    server = TestServer(_serve({"/big.wsdl": b"<a>" + b" " * 4096 + b"</a>"}), host="127.0.0.1")
    await server.start_server()
    try:
        url = str(server.make_url("/big.wsdl"))
        with pytest.raises(GeneratorError, match="larger than 1024 bytes"):
            await asyncio.to_thread(load_wsdl, url)
    finally:
        await server.close()
