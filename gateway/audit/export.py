"""Exports of the whole log (JSON lines or CSV) that carry everything ``verify`` needs:
the pruning anchor, every sealed entry with its hashes, and the signed checkpoints.

JSON lines: one object per line, ``{"type": "anchor" | "entry" | "checkpoint", ...}``;
an entry line is ``{"type": "entry", "index", "prev_hash", "leaf_hash", "event"}`` and its
sealed text is the canonical JSON of ``{"event", "index", "prev_hash"}``.
CSV: readable columns for people and spreadsheets, plus a ``json`` column holding the
envelope (entries) or the record (anchor, checkpoints) as JSON with every non-ASCII and
control character ``\\u``-escaped, so one record is one physical line of printable ASCII
whatever the event holds. The reader restores an entry's sealed text byte for byte by
rendering that JSON canonically again (the sealed text is canonical JSON, which verify
checks), so the hashes still verify. Readable cells pass :func:`csv_cells.cell`
(controls escaped, formulas neutralised) and every cell is quoted; they are a rendering
for people: ``verify`` reads only ``record``, ``index``, ``leaf_hash`` and ``json``.
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from gateway.audit import sqlite_log
from gateway.audit.csv_cells import cell
from gateway.audit.entries import Entry
from gateway.audit.proofcheck import canonical_json
from gateway.audit.sqlite_log import StoredEntry
from gateway.audit.verify import LogSnapshot, resume_from

CSV_COLUMNS = (
    "record",
    "index",
    "time",
    "request_id",
    "kind",
    "agent_id",
    "agent_owner",
    "on_behalf_of",
    "operation",
    "decision",
    "outcome",
    "status",
    "leaf_hash",
    "json",
)


MAX_CSV_CELL = 256 * 1024 * 1024
"""Bound on one CSV cell when reading (the csv module's default, 128 KiB, is smaller
than an event with a large input)."""


class ExportError(Exception):
    """The file is not a lastmile audit export; the message says where."""


@contextlib.contextmanager
def store_snapshot(path: Path, resume: dict[str, Any] | None = None) -> Iterator[LogSnapshot]:
    """A consistent view of a SQLite store (one read transaction) whose entries are read
    lazily, so verifying or exporting a large log runs in constant memory. From
    ``resume`` (an earlier verification's resume point) when retention has not pruned
    past it: see :func:`gateway.audit.verify.resume_from`."""
    db = sqlite_log.connect(path, create=False)
    try:
        db.execute("BEGIN")
        anchor = resume_from(sqlite_log.read_anchor(db), resume)
        yield LogSnapshot(
            anchor=anchor,
            entries=sqlite_log.iter_entries(db, int(anchor["size"]) if anchor else 0),
            checkpoints=sqlite_log.read_checkpoints(db),
        )
        db.execute("COMMIT")
    finally:
        db.close()


def read_store(path: Path) -> LogSnapshot:
    """The whole store in memory (small logs, tests)."""
    with store_snapshot(path) as snapshot:
        return LogSnapshot(snapshot.anchor, list(snapshot.entries), snapshot.checkpoints)


def write_jsonl(snapshot: LogSnapshot, out: TextIO) -> int:
    count = 0
    if snapshot.anchor is not None:
        out.write(json.dumps({"type": "anchor", **snapshot.anchor}, ensure_ascii=False) + "\n")
    for stored in snapshot.entries:
        line = {"type": "entry", **stored.entry.to_json()}
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
        count += 1
    for checkpoint in snapshot.checkpoints:
        out.write(json.dumps({"type": "checkpoint", **checkpoint}) + "\n")
    return count


def _ascii_json(value: Any) -> str:
    """Canonical JSON, except that every non-ASCII and control character is escaped."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def write_csv(snapshot: LogSnapshot, out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(CSV_COLUMNS)
    blank = [""] * (len(CSV_COLUMNS) - 3)
    if snapshot.anchor is not None:
        size = cell(snapshot.anchor.get("size"))
        writer.writerow(["anchor", size, *blank, _ascii_json(snapshot.anchor)])
    count = 0
    for stored in snapshot.entries:
        entry, envelope = stored.entry, stored.entry.envelope
        readable = [envelope["event"].get(name) for name in CSV_COLUMNS[2:-2]]  # time .. status
        cells = [entry.index, *readable, entry.leaf_hash]
        writer.writerow(["entry", *map(cell, cells), _ascii_json(envelope)])
        count += 1
    for checkpoint in snapshot.checkpoints:
        size = cell(checkpoint["tree_size"])
        writer.writerow(["checkpoint", size, *blank, _ascii_json(checkpoint)])
    return count


def read_export(path: Path) -> LogSnapshot:
    with path.open(encoding="utf-8", newline="") as handle:
        first = handle.read(1)
        handle.seek(0)
        records = _csv_records(handle) if first != "{" else _jsonl_records(handle)
        anchor: dict[str, Any] | None = None
        entries: list[StoredEntry] = []
        checkpoints: list[dict[str, Any]] = []
        for line, kind, record in records:
            if kind == "anchor":
                anchor = record
            elif kind == "checkpoint":
                checkpoints.append(record)
            elif kind == "entry":
                entries.append(StoredEntry(_entry(line, record), None))
            else:
                raise ExportError(f"{path}:{line}: unknown record type {kind!r}")
    return LogSnapshot(anchor, entries, checkpoints)


def _entry(line: int, record: dict[str, Any]) -> Entry:
    try:
        envelope = {
            "event": record["event"],
            "index": record["index"],
            "prev_hash": record["prev_hash"],
        }
        text = record.get("_text") or canonical_json(envelope).decode("utf-8")
        return Entry(int(record["index"]), str(record["prev_hash"]), str(record["leaf_hash"]), text)
    except (KeyError, TypeError, ValueError) as exc:
        raise ExportError(
            f"line {line}: an entry needs index, prev_hash, leaf_hash and event"
        ) from exc


def _json(text: str) -> Any:
    """Parsed JSON; a hostile export (deep nesting, ``NaN``) is an :class:`ValueError`."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _jsonl_records(handle: TextIO) -> Iterator[tuple[int, str, dict[str, Any]]]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            record = _json(line)
        except ValueError:
            raise ExportError(f"line {number}: not JSON") from None
        if not isinstance(record, dict):
            raise ExportError(f"line {number}: not a JSON object")
        yield number, str(record.pop("type", "")), record


def _csv_records(handle: TextIO) -> Iterator[tuple[int, str, dict[str, Any]]]:
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CSV_CELL))
    reader = csv.DictReader(handle)
    try:
        if reader.fieldnames is None or tuple(reader.fieldnames) != CSV_COLUMNS:
            raise ExportError("not a lastmile audit CSV export (unexpected header)")
        for number, row in enumerate(reader, start=2):
            yield number, row["record"], _csv_record(number, row)
    except csv.Error as exc:
        raise ExportError(f"line {reader.line_num}: not CSV ({exc})") from None


def _csv_record(number: int, row: dict[str, str]) -> dict[str, Any]:
    try:
        data = _json(row["json"])
        # the sealed text is canonical JSON: rendering the cell canonically restores it
        text = canonical_json(data).decode("utf-8") if row["record"] == "entry" else ""
    except (ValueError, TypeError):
        raise ExportError(f"line {number}: the json column is not JSON") from None
    if not isinstance(data, dict):
        raise ExportError(f"line {number}: the json column is not a JSON object")
    if row["record"] == "entry":
        data = {**data, "index": row["index"], "leaf_hash": row["leaf_hash"], "_text": text}
    return data
