"""A generated adapter, unedited, against the live SOAP ERP sandbox through our SOAP
adapter: what `lastmile adapter new` writes must work with what `SoapClient.call`
returns, not only with zeep in a test harness."""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path

import pytest

from adapters.base import REPLY_CONTEXT
from adapters.soap import SoapAdapter, SoapSettings
from adapters.soap_wsdl import WsdlSource
from tests.erp import Erp

REPLY = {REPLY_CONTEXT: True}  # as the gateway validates answers


async def test_generated_adapter_reads_and_writes_the_sandbox_erp(
    erp: Erp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "acmegen"
    # the sandbox serves the WSDL from this event loop: run the generator without blocking it
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "adapter", "new", "--wsdl", erp.wsdl_url,
        "--name", "acmegen", "--out", str(out), stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    monkeypatch.syspath_prepend(str(tmp_path))
    generated = importlib.import_module("acmegen.adapter")
    source = WsdlSource(location=erp.wsdl_url, cache_path=tmp_path / "cache.sqlite")
    adapter = SoapAdapter(
        "acme_erp", SoapSettings(wsdl=source, total_timeout_s=5), generated.operations
    )
    await adapter.start()
    try:
        ops = {op.name.rsplit(".", 1)[-1]: op for op in adapter.operations}
        get = ops["zfi_customer_get"]
        raw = await adapter.call(get, get.input_model.model_validate({"KUNNR": "0000100001"}))
        customer = get.output_model.model_validate(raw, strict=False, context=REPLY)
        dumped = customer.model_dump(by_alias=True)
        assert dumped["CUSTOMER"]["KUNNR"] == "0000100001"
        assert dumped["RETURN"] is not None

        find = ops["zfi_creditnote_find"]
        raw = await adapter.call(find, find.input_model.model_validate({"XREF": "NONE-YET"}))
        found = find.output_model.model_validate(raw, strict=False, context=REPLY).model_dump(
            by_alias=True
        )
        assert found["CREDITNOTES"] in (None, {"item": []}, [])
    finally:
        await adapter.close()
