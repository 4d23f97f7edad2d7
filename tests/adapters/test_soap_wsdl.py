"""Loading the WSDL at start-up (clear failures, disk cache, no fetches after start-up)
and the credentials the SOAP adapter sends (HTTP basic, WS-Security UsernameToken)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from zeep.exceptions import ExternalReferenceForbidden

from adapters.base import StartupFailed
from adapters.soap_wsdl import WsdlSource, load_wsdl
from sandbox.acme_finance import WSDL_TEXT, Credentials
from schemas.errors import BackendError, BackendFault
from tests.erp import AdapterFactory, Erp, ErpFactory


async def test_unreachable_wsdl_fails_start_up_naming_url_and_cause(
    make_adapter: AdapterFactory,
) -> None:
    closed = TestServer(web.Application(), host="127.0.0.1")
    await closed.start_server()
    url = str(closed.make_url("/finance?wsdl"))
    await closed.close()

    with pytest.raises(StartupFailed) as caught:
        await make_adapter(url)

    message = str(caught.value)
    assert message.startswith(f"backend 'acme_erp': cannot load WSDL {url}: ")
    assert "ConnectionError" in message


async def test_missing_wsdl_file_and_wrong_port_fail_clearly(
    erp: Erp, make_adapter: AdapterFactory, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.wsdl"
    with pytest.raises(StartupFailed, match=f"cannot load WSDL {missing}: FileNotFoundError"):
        await make_adapter(str(missing))

    with pytest.raises(StartupFailed, match=r"has no port 'NOPE'.*ZFI_FINANCE_SOAP12"):
        await make_adapter(erp.wsdl_url, wsdl_options={"port": "NOPE"})


def test_a_wsdl_with_an_entity_declaration_is_refused(tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.wsdl"
    hostile.write_text(
        WSDL_TEXT.replace(
            '<?xml version="1.0" encoding="utf-8"?>',
            '<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        )
    )
    with pytest.raises(StartupFailed, match="DTDForbidden"):
        load_wsdl(WsdlSource(str(hostile)))


def test_a_local_wsdl_may_not_import_from_the_network(tmp_path: Path) -> None:
    importing = tmp_path / "importing.wsdl"
    importing.write_text(
        WSDL_TEXT.replace(
            "<wsdl:types>",
            '<wsdl:types><xsd:schema targetNamespace="urn:x"><xsd:import namespace="urn:y" '
            'schemaLocation="http://127.0.0.1:9/evil.xsd"/></xsd:schema>',
        )
    )
    with pytest.raises(
        StartupFailed, match=r"ExternalReferenceForbidden.*127\.0\.0\.1:9/evil\.xsd"
    ):
        load_wsdl(WsdlSource(str(importing)))


def test_the_packaged_wsdl_loads_with_an_endpoint_override() -> None:
    loaded = load_wsdl(
        WsdlSource("package:sandbox/acme_finance.wsdl", endpoint="http://127.0.0.1:1/x")
    )
    assert loaded.address == "http://127.0.0.1:1/x"
    assert "ZFI_CREDITNOTE_FIND" in loaded.operation_names
    assert loaded.fetched == ()


async def test_the_wsdl_is_cached_on_disk_and_not_fetched_again_on_restart(
    erp: Erp, make_adapter: AdapterFactory
) -> None:
    first = await make_adapter(erp.wsdl_url)
    assert first.wsdl is not None
    assert first.wsdl.fetched == (erp.wsdl_url,)
    await first.close()

    second = await make_adapter(erp.wsdl_url)  # a restart: same cache file, new process state

    assert second.wsdl is not None
    assert second.wsdl.fetched == ()
    assert (await erp.stats())["wsdl_fetches"] == 1
    reply = await second.client(2.0).call("ZFI_CUSTOMER_GET", KUNNR="0000100001")
    assert reply["CUSTOMER"]["NAME1"] == "Baeckerei Schmidt GmbH"


async def test_nothing_is_fetched_after_start_up(erp: Erp, make_adapter: AdapterFactory) -> None:
    adapter = await make_adapter(erp.wsdl_url)
    assert adapter.wsdl is not None

    with pytest.raises(ExternalReferenceForbidden):
        adapter.wsdl.client.transport.load(erp.wsdl_url)
    assert (await erp.stats())["wsdl_fetches"] == 1


async def test_http_basic_auth_is_sent(make_erp: ErpFactory, make_adapter: AdapterFactory) -> None:
    erp = await make_erp(Credentials(basic=("LASTMILE", "s3cret")))
    good = await make_adapter(erp.wsdl_url, basic_auth=("LASTMILE", "s3cret"))
    reply = await good.client(2.0).call("ZFI_CUSTOMER_GET", KUNNR="0000100001")
    assert reply["CUSTOMER"]["KUNNR"] == "0000100001"
    assert (await erp.stats())["users"] == {"basic:LASTMILE": 1}

    wrong = await make_adapter(erp.wsdl_url, basic_auth=("LASTMILE", "guess"))
    with pytest.raises(BackendError, match="refused the gateway's credentials \\(HTTP 401\\)"):
        await wrong.client(2.0).call("ZFI_CUSTOMER_GET", KUNNR="0000100001")


@pytest.mark.parametrize("digest", [False, True])
async def test_ws_security_username_token_is_sent(
    make_erp: ErpFactory, make_adapter: AdapterFactory, digest: bool
) -> None:
    erp = await make_erp(Credentials(ws_security=("LASTMILE", "s3cret")))
    good = await make_adapter(
        erp.wsdl_url, wsdl_options={"ws_security": ("LASTMILE", "s3cret", digest)}
    )
    reply = await good.client(2.0).call("ZFI_CUSTOMER_GET", KUNNR="0000100001")
    assert reply["CUSTOMER"]["KUNNR"] == "0000100001"
    assert (await erp.stats())["users"] == {"wsse:LASTMILE": 1}

    wrong = await make_adapter(
        erp.wsdl_url, wsdl_options={"ws_security": ("LASTMILE", "guess", digest)}
    )
    with pytest.raises(BackendFault, match="FailedAuthentication") as caught:
        await wrong.client(2.0).call("ZFI_CUSTOMER_GET", KUNNR="0000100001")
    assert caught.value.retryable is False


async def test_the_cache_directory_is_created(erp: Erp, tmp_path: Path) -> None:
    cache = tmp_path / "new" / "dir" / "wsdl.sqlite"
    loaded = await asyncio.to_thread(load_wsdl, WsdlSource(erp.wsdl_url, cache_path=cache))
    assert cache.exists()
    assert loaded.fetched == (erp.wsdl_url,)
