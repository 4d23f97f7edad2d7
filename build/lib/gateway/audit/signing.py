"""The checkpoint signing key: loaded from config (an env secret or a file), never from
the audit store, and the public half that auditors pin."""

from __future__ import annotations

import base64
import binascii
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from gateway.audit.proofcheck import LOG_NAME, checkpoint_message, key_id
from gateway.config import CheckpointConfig

log = structlog.get_logger("lastmile.audit")


class SigningKeyError(ValueError):
    """A signing or public key cannot be read; the message says which and why."""


def format_time(moment: datetime) -> str:
    """UTC with microseconds and a ``Z``: one fixed width, so text order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_private_key(data: bytes) -> Ed25519PrivateKey:
    """A PEM (PKCS#8) Ed25519 private key, or its 32 raw bytes in base64."""
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        key = serialization.load_pem_private_key(text, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError("the signing key must be an Ed25519 key")
        return key
    try:
        raw = base64.b64decode(text, validate=True)
        return Ed25519PrivateKey.from_private_bytes(raw)
    except (binascii.Error, ValueError):
        raise SigningKeyError("the signing key is neither PEM nor 32 bytes in base64") from None


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def parse_public_key(value: str) -> bytes:
    """A trusted public key given on a command line: a file (PEM or base64) or base64."""
    data = value.encode()
    path = Path(value)
    if len(value) < 1024 and path.is_file():
        data = path.read_bytes().strip()
    if data.startswith(b"-----BEGIN PRIVATE"):
        return public_bytes(parse_private_key(data).public_key())
    if data.startswith(b"-----BEGIN"):
        key = serialization.load_pem_public_key(data)
        if not isinstance(key, Ed25519PublicKey):
            raise SigningKeyError("the public key must be an Ed25519 key")
        return public_bytes(key)
    try:
        raw = base64.b64decode(data, validate=True)
    except binascii.Error:
        raise SigningKeyError(
            f"{value[:60]!r} is neither a key file nor a base64 public key"
        ) from None
    if len(raw) != 32:
        raise SigningKeyError("an Ed25519 public key is 32 bytes")
    return raw


def write_key_file(path: Path) -> Ed25519PrivateKey:
    """Create a new key file readable only by its owner."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


class CheckpointSigner:
    """Signs checkpoints: ``(log, tree_size, root_hash, time, key_id)`` with Ed25519."""

    def __init__(self, private_key: Ed25519PrivateKey, *, ephemeral: bool = False) -> None:
        self._key = private_key
        self.public_key = public_bytes(private_key.public_key())
        self.key_id = key_id(self.public_key)
        self.is_ephemeral = ephemeral

    @classmethod
    def ephemeral(cls) -> CheckpointSigner:
        return cls(Ed25519PrivateKey.generate(), ephemeral=True)

    @classmethod
    def from_config(cls, config: CheckpointConfig) -> CheckpointSigner:
        if config.key is not None:
            return cls(parse_private_key(config.key.get_secret_value().encode()))
        if config.key_file is not None:
            path = Path(config.key_file)
            if not path.exists() and config.create_key_file:
                log.warning("audit_signing_key_created", path=str(path))
                return cls(write_key_file(path))
            try:
                return cls(parse_private_key(path.read_bytes()))
            except OSError as exc:
                raise SigningKeyError(
                    f"cannot read the signing key {path}: {exc.strerror}"
                ) from exc
        log.warning(
            "audit_signing_key_ephemeral",
            detail="no audit.checkpoints.key or key_file configured: checkpoints are signed "
            "with a key that lives only as long as this process",
        )
        return cls.ephemeral()

    @property
    def public_key_b64(self) -> str:
        return base64.b64encode(self.public_key).decode()

    def sign(self, tree_size: int, root: bytes, moment: datetime) -> dict[str, Any]:
        checkpoint: dict[str, Any] = {
            "log": LOG_NAME,
            "tree_size": tree_size,
            "root_hash": root.hex(),
            "time": format_time(moment),
            "key_id": self.key_id,
            "public_key": self.public_key_b64,
        }
        signature = self._key.sign(checkpoint_message(checkpoint))
        checkpoint["signature"] = base64.b64encode(signature).decode()
        return checkpoint


def configured_public_key(config: CheckpointConfig) -> bytes | None:
    """The public half of the configured key, without creating a key file."""
    if config.key is not None:
        return public_bytes(parse_private_key(config.key.get_secret_value().encode()).public_key())
    if config.key_file is not None and Path(config.key_file).is_file():
        return public_bytes(parse_private_key(Path(config.key_file).read_bytes()).public_key())
    return None
