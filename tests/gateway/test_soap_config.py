"""SOAP backends in gateway.yaml: errors with their place, secrets by reference, and a
gateway that cannot load its WSDL refusing to start with one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import ConfigError, SoapBackendConfig, WsSecurityAuthConfig, parse_config

BAD = """\
backends:
  erp:
    kind: soap
    adapter: adapters.acme_finance
    wsdl: "ftp://erp/finance?wsdl"
    endpoint: not-a-url
    soap_version: "1.3"
    auth:
      type: ws_security
      username: LASTMILE
      password: hunter2
"""

GOOD = """\
backends:
  erp:
    kind: soap
    adapter: adapters.acme_finance
    wsdl: package:sandbox/acme_finance.wsdl
    endpoint: ${ERP_URL}/sap/bc/srt/acme/finance
    soap_version: "1.2"
    operation_timeouts_s: {finance.credit_notes.create: 20}
    auth: {type: ws_security, username: LASTMILE, password: "${ERP_PASSWORD}", digest: true}
"""


def test_soap_backend_errors_point_into_the_file() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BAD, "gw.yaml", env={})

    problems = "\n".join(caught.value.problems)
    assert "gw.yaml:5: backends.erp.wsdl: Value error, expected an http(s) URL" in problems
    assert "gw.yaml:6: backends.erp.endpoint: Value error, expected an http://" in problems
    assert "gw.yaml:7: backends.erp.soap_version: Input should be '1.1' or '1.2'" in problems
    assert "gw.yaml:11: backends.erp.auth.password: Value error, secrets must be given" in problems


def test_a_soap_backend_with_ws_security_from_the_environment() -> None:
    env = {"ERP_URL": "http://127.0.0.1:8082", "ERP_PASSWORD": "s3cret"}
    backend = parse_config(GOOD, "gw.yaml", env=env).backends["erp"]

    assert isinstance(backend, SoapBackendConfig)
    assert backend.endpoint == "http://127.0.0.1:8082/sap/bc/srt/acme/finance"
    assert isinstance(backend.auth, WsSecurityAuthConfig)
    assert backend.auth.password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(backend)


def test_serve_exits_2_naming_the_wsdl_that_cannot_load(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(
        GOOD.replace("package:sandbox/acme_finance.wsdl", str(tmp_path / "gone.wsdl"))
        + "audit:\n  path: "
        + str(tmp_path / "audit.sqlite")
        + "\n"
    )
    env = {"PATH": "/usr/bin:/bin", "ERP_URL": "http://127.0.0.1:9", "ERP_PASSWORD": "x"}

    result = subprocess.run(  # noqa: S603 - our own CLI with fixed arguments
        [sys.executable, "-m", "gateway", "serve", "--config", str(config), "--port", "0"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=60,
    )

    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("cannot start: backend 'erp': cannot load WSDL ")
    assert "gone.wsdl: FileNotFoundError" in last
    assert "Traceback" not in result.stderr
