"""`lastmile audit verify` finds the first broken link of a tampered store or export."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.audit.entries import seal
from gateway.cli import main
from tests.gateway.audit.helpers import build_log, event, public_b64, reseal_from, rows, signer


def verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()  # drop what building the log printed
    code = main(["audit", "verify", *args])
    return code, capsys.readouterr().out.strip()


@pytest.fixture
async def store(tmp_path: Path) -> tuple[Path, str, list[object]]:
    key = signer()
    path = tmp_path / "audit.sqlite"
    events = await build_log(path, key)
    return path, public_b64(key), events


Store = tuple[Path, str, list[object]]


def test_an_untouched_store_verifies(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    path, key, _ = store
    code, out = verify(capsys, "--store", str(path), "--public-key", key)
    assert code == 0, out
    assert out.startswith("OK: entries 0..9 (10) chain intact; 3 signed checkpoint(s) match")


def test_an_edited_event_is_caught(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    path, key, _ = store
    with rows(path) as db:
        (event_id,) = db.execute("SELECT event_id FROM audit_events WHERE seq = 3").fetchone()
        db.execute(
            'UPDATE audit_events SET entry = replace(entry, \'"outcome":"ok"\', '
            '\'"outcome":"forbidden"\') WHERE seq = 3'
        )
    code, out = verify(capsys, "--store", str(path), "--public-key", key)
    assert code == 1
    assert out == (
        f"FAILED at entry 3 (event {event_id}): its content does not match its recorded hash: "
        "it was edited"
    )


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    path, key, events = store
    forged = events[5].model_copy(update={"outcome": "forbidden"})  # type: ignore[attr-defined]
    with rows(path) as db:
        (prev,) = db.execute("SELECT prev_hash FROM audit_events WHERE seq = 5").fetchone()
        entry = seal(5, prev, forged)
        db.execute(
            "UPDATE audit_events SET entry = ?, leaf_hash = ?, outcome = 'forbidden' WHERE seq = 5",
            (entry.text, entry.leaf_hash),
        )
    code, out = verify(capsys, "--store", str(path), "--public-key", key)
    assert code == 1
    assert out.startswith("FAILED at entry 6 (event ")
    assert f"prev_hash does not match the hash of entry 5 (event {forged.event_id})" in out


def test_a_consistent_rewrite_is_caught_by_the_signed_root(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    path, key, events = store
    events[5] = events[5].model_copy(update={"outcome": "forbidden"})  # type: ignore[attr-defined]
    reseal_from(path, 5, events)  # type: ignore[arg-type]
    code, out = verify(capsys, "--store", str(path), "--public-key", key)
    assert code == 1
    assert "FAILED at entry 7 " in out
    assert "the Merkle root of the first 8 entries differs from the checkpoint" in out


def test_a_deleted_event_is_caught(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    path, key, _ = store
    with rows(path) as db:
        db.execute("DELETE FROM audit_events WHERE seq = 4")
    code, out = verify(capsys, "--store", str(path), "--public-key", key)
    assert code == 1
    assert out == (
        "FAILED at entry 4: missing: the log jumps from entry 3 to entry 5; "
        "entries 4..4 were deleted (or moved)"
    )


def test_reordered_events_are_caught(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    path, key, _ = store
    with rows(path) as db:
        two = db.execute("SELECT entry, leaf_hash, prev_hash FROM audit_events WHERE seq = 2")
        three = db.execute("SELECT entry, leaf_hash, prev_hash FROM audit_events WHERE seq = 3")
        a, b = two.fetchone(), three.fetchone()
        for seq, values in ((2, b), (3, a)):
            db.execute(
                "UPDATE audit_events SET entry = ?, leaf_hash = ?, prev_hash = ? WHERE seq = ?",
                (*values, seq),
            )
    code, out = verify(capsys, "--store", str(path), "--public-key", key)
    assert code == 1
    assert "FAILED at entry 2 (event " in out
    assert "stored at position 2 but sealed as entry 3: entries were reordered or inserted" in out


def test_an_inserted_event_is_caught(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    path, key, _ = store
    with rows(path) as db:
        db.execute("UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 5")
        db.execute("UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1000")
        (prev,) = db.execute("SELECT leaf_hash FROM audit_events WHERE seq = 4").fetchone()
        forged = event(99)
        entry = seal(5, prev, forged)  # a well-formed entry that links to its predecessor
        db.execute(
            "INSERT INTO audit_events (seq, event_id, time, request_id, kind, agent_id, "
            "agent_owner, operation, decision, outcome, prev_hash, leaf_hash, entry) "
            "VALUES (5, ?, '', 'req_x', 'call', 'inventory-bot', 'team-logistics', "
            "'warehouse.stock.get', 'allow', 'ok', ?, ?, ?)",
            (forged.event_id, prev, entry.leaf_hash, entry.text),
        )
    code, out = verify(capsys, "--store", str(path), "--public-key", key)
    assert code == 1
    assert "FAILED at entry 6 (event " in out
    assert "stored at position 6 but sealed as entry 5" in out


def test_a_truncated_log_is_caught(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    path, key, _ = store
    with rows(path) as db:
        db.execute("DELETE FROM audit_events WHERE seq >= 8")
    code, out = verify(capsys, "--store", str(path), "--public-key", key)
    assert code == 1
    assert out.startswith("FAILED at entry 8: truncated: the log ends after entry 7, but a ")
    assert "covers 10 entries (entries 8..9 are missing)" in out


def test_truncating_checkpoints_too_is_caught_by_a_checkpoint_kept_earlier(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, key, _ = store
    with rows(path) as db:
        (kept,) = db.execute(
            "SELECT body FROM audit_checkpoints ORDER BY tree_size DESC"
        ).fetchone()
        db.execute("DELETE FROM audit_events WHERE seq >= 8")
        db.execute("DELETE FROM audit_checkpoints WHERE tree_size > 8")
    saved = tmp_path / "checkpoint.json"
    saved.write_text(kept)
    code, out = verify(
        capsys, "--store", str(path), "--public-key", key, "--checkpoint", str(saved)
    )
    assert code == 1
    assert "truncated: the log ends after entry 7" in out


async def test_a_wholesale_rewrite_with_a_new_key_is_caught_by_the_pinned_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trusted = signer()
    forged_path = tmp_path / "forged.sqlite"
    await build_log(forged_path, signer())  # a whole new log, re-chained and re-signed
    code, out = verify(capsys, "--store", str(forged_path), "--public-key", public_b64(trusted))
    assert code == 1
    assert "which is not a trusted key" in out
    # Unpinned, the same log looks intact: pinning the key is what catches a rewrite.
    code, out = verify(capsys, "--store", str(forged_path))
    assert code == 0
    assert "NOT pinned" in out


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_export_verifies_and_tampering_with_it_is_caught(
    fmt: str, store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, key, _ = store
    export = tmp_path / f"audit.{fmt}"
    assert (
        main(["audit", "export", "--store", str(path), "--format", fmt, "--out", str(export)]) == 0
    )
    capsys.readouterr()
    code, out = verify(capsys, "--export", str(export), "--public-key", key)
    assert code == 0, out

    lines = export.read_text().splitlines(keepends=True)
    first = 1 if fmt == "csv" else 0  # the CSV header
    tampered = {
        "edited": [
            *lines[: first + 3],
            lines[first + 3].replace("100003", "999999"),
            *lines[first + 4 :],
        ],
        "deleted": [*lines[: first + 4], *lines[first + 5 :]],
        "reordered": [*lines[: first + 2], lines[first + 3], lines[first + 2], *lines[first + 4 :]],
        "inserted": [*lines[: first + 5], lines[first + 1], *lines[first + 5 :]],
        "truncated": [*lines[: first + 8], *lines[first + 10 :]],
    }
    expected = {
        "edited": "FAILED at entry 3 ",
        "deleted": "FAILED at entry 4: missing",
        "reordered": "FAILED at entry 2: missing: the log jumps from entry 1 to entry 3",
        "inserted": "FAILED at entry 1 ",
        "truncated": "FAILED at entry 8: truncated",
    }
    for name, text in tampered.items():
        export.write_text("".join(text))
        code, out = verify(capsys, "--export", str(export), "--public-key", key)
        assert code == 1, name
        assert out.startswith(expected[name]), (name, out)


def test_reading_commands_never_write_to_the_store(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, key, _ = store

    def content() -> list[object]:
        with rows(path) as db:
            return [
                db.execute("SELECT * FROM audit_events ORDER BY seq").fetchall(),
                db.execute("SELECT * FROM audit_checkpoints ORDER BY tree_size").fetchall(),
            ]

    before = content()
    at = ["--store", str(path)]
    for command in (
        ["list", *at],
        ["tail", *at],
        ["search", *at, "--agent", "inventory-bot"],
        ["show", "req_0003", *at],
        ["export", *at, "--out", str(tmp_path / "x.jsonl")],
        ["verify", *at, "--public-key", key],
        ["prove", "req_0003", *at],
        ["prove-consistency", "4", *at],
    ):
        assert main(["audit", *command]) == 0, command
    assert content() == before
