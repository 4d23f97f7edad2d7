"""The checkpoint signing key: from an env secret or a file, never in the audit store."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.audit.signing import CheckpointSigner, public_bytes
from gateway.cli import main
from gateway.config import ConfigError, parse_config
from tests.conftest import TEST_CONFIG
from tests.gateway.audit.helpers import build_log


def config_with(audit: str) -> str:
    return TEST_CONFIG.replace("audit:\n  path: ${AUDIT_DB}\n", audit)


def test_the_key_file_may_not_be_the_store(tmp_path: Path) -> None:
    text = config_with(
        f"audit:\n  path: {tmp_path}/a.sqlite\n  checkpoints:\n    key_file: {tmp_path}/a.sqlite\n",
    )
    with pytest.raises(ConfigError, match="must not live in the audit store"):
        parse_config(text, "t.yaml", env={"WMS_URL": "http://127.0.0.1:1"})


def test_a_literal_key_in_the_file_is_refused(tmp_path: Path) -> None:
    text = config_with(f"audit:\n  checkpoints:\n    key: {'A' * 44}\n")
    with pytest.raises(ConfigError, match=r"\$\{ENV_VAR\} reference"):
        parse_config(text, "t.yaml", env={"WMS_URL": "http://127.0.0.1:1"})


async def test_a_key_from_the_environment_signs_and_never_reaches_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes_raw()
    text = config_with(
        f"audit:\n  path: {tmp_path}/audit.sqlite\n"
        "  checkpoints:\n    key: ${AUDIT_SIGNING_KEY}\n"
    )
    env = {
        "WMS_URL": "http://127.0.0.1:1",
        "AUDIT_SIGNING_KEY": base64.b64encode(raw).decode(),
    }
    config = parse_config(text, "t.yaml", env=env)
    signer = CheckpointSigner.from_config(config.audit.checkpoints)
    assert signer.public_key == public_bytes(private.public_key())
    await build_log(tmp_path / "audit.sqlite", signer, count=5, every=2)

    stored = store_bytes(tmp_path)
    assert raw not in stored
    assert base64.b64encode(raw) not in stored
    assert signer.public_key_b64.encode() in stored  # the public half is published, by design


def test_public_key_prints_the_configured_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "signing.pem"
    signer = CheckpointSigner.from_config(
        parse_config(
            config_with(
                f"audit:\n  checkpoints:\n    key_file: {key_file}\n    create_key_file: true\n"
            ),
            "t.yaml",
            env={"WMS_URL": "http://127.0.0.1:1"},
        ).audit.checkpoints
    )
    assert key_file.stat().st_mode & 0o777 == 0o600
    config_file = tmp_path / "gateway.yaml"
    config_file.write_text(config_with(f"audit:\n  checkpoints:\n    key_file: {key_file}\n"))
    monkeypatch.setenv("WMS_URL", "http://127.0.0.1:1")
    capsys.readouterr()
    assert main(["audit", "public-key", "--config", str(config_file)]) == 0
    assert capsys.readouterr().out.split() == [signer.public_key_b64, f"key_id={signer.key_id}"]


def store_bytes(directory: Path) -> bytes:
    """Every byte of the store: the database, its WAL and shared-memory files."""
    return b"".join(p.read_bytes() for p in directory.glob("audit.sqlite*"))
