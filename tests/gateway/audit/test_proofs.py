"""`lastmile audit prove` and the standalone checker agree; tampered proofs fail."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import gateway.audit.proofcheck as proofcheck
from gateway.audit.proofcheck import ProofError, check_proof
from gateway.cli import main
from tests.gateway.audit.helpers import build_log, public_b64, signer


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()  # drop what building the log printed
    code = main(list(args))
    return code, capsys.readouterr().out


def test_the_standalone_checker_imports_only_hashlib_json_base64_and_cryptography() -> None:
    tree = ast.parse(Path(proofcheck.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= {"__future__", "base64", "hashlib", "json", "typing", "cryptography"}


async def test_an_inclusion_proof_checks_against_the_signed_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = signer()
    store = tmp_path / "audit.sqlite"
    await build_log(store, key, count=7, every=3)

    code, out = run(capsys, "audit", "prove", "req_0004", "--store", str(store))
    assert code == 0
    document = json.loads(out)
    assert document["leaf_index"] == 4
    assert document["checkpoint"]["tree_size"] == 7
    assert document["entry"]["event"]["request_id"] == "req_0004"
    proof = tmp_path / "proof.json"
    proof.write_text(out)

    code, out = run(capsys, "audit", "check-proof", str(proof), "--public-key", public_b64(key))
    assert code == 0
    assert out.startswith("VALID: event ")
    assert "is entry 4 of the log whose checkpoint at size 7 is signed" in out
    # the pure function says the same, with nothing but the document and the key
    assert "entry 4" in check_proof(document, [key.public_key])

    # a changed event, a changed path or another key: each is refused
    edited = json.loads(proof.read_text())
    edited["entry"]["event"]["outcome"] = "forbidden"
    with pytest.raises(ProofError, match="does not lead to the checkpoint's root"):
        check_proof(edited, [key.public_key])
    shortened = {**document, "audit_path": document["audit_path"][:-1]}
    with pytest.raises(ProofError, match="shorter than the tree is deep"):
        check_proof(shortened, [key.public_key])
    with pytest.raises(ProofError, match="not a trusted key"):
        check_proof(document, [signer().public_key])
    proof.write_text(json.dumps(edited))
    code, out = run(capsys, "audit", "check-proof", str(proof), "--public-key", public_b64(key))
    assert code == 1
    assert out.startswith("INVALID: ")


async def test_a_later_checkpoint_provably_extends_an_earlier_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = signer()
    store = tmp_path / "audit.sqlite"
    await build_log(store, key, count=11, every=3)  # checkpoints at 3, 6, 9 and 11

    code, out = run(capsys, "audit", "prove-consistency", "6", "--store", str(store))
    assert code == 0
    document = json.loads(out)
    assert (document["first"]["tree_size"], document["second"]["tree_size"]) == (6, 11)
    assert "extends the one at size 6" in check_proof(document, [key.public_key])

    forged = {**document, "proof": list(reversed(document["proof"]))}
    with pytest.raises(ProofError):
        check_proof(forged, [key.public_key])

    assert main(["audit", "prove-consistency", "5", "--store", str(store)]) == 1
    assert "no signed checkpoint at size 5; checkpoints exist at: 3, 6, 9, 11" in (
        capsys.readouterr().err
    )


async def test_prove_explains_what_it_cannot_prove(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "prove", "req_1", "--store", str(tmp_path / "none.sqlite")]) == 2
    assert "no such audit store" in capsys.readouterr().err
    store = tmp_path / "audit.sqlite"
    await build_log(store, signer(), count=2)
    assert main(["audit", "prove", "req_404", "--store", str(store)]) == 1
    assert "no audit event has request id 'req_404'" in capsys.readouterr().err
