"""The audit log's PostgreSQL layout (component ``audit`` of the versioned migrations).

One global chain for the whole fleet. ``audit_head`` is one row: the next index, the
last leaf hash and the Merkle frontier. ``audit_append`` seals a batch *inside the
server*: it locks the head row, builds each entry's canonical text from the event's
canonical JSON (rendered by the gateway) plus its index and predecessor hash, hashes it
(``sha256(0x00 || text)``, byte for byte what :func:`gateway.audit.entries.seal_rendered`
produces), folds the frontier, stores every perfect subtree completed on the way
(``audit_tree``: the interior nodes proofs read, O(log n) per proof) and moves the head.
The lock is held for one statement, never across a network round trip, and not across
the WAL flush either: the sealing transaction commits asynchronously, and the writer
makes it durable with a second, synchronous commit outside the lock (its row in
``audit_writers``). WAL is flushed in order, so that flush covers the batch and every
batch before it; writers' flushes overlap (PostgreSQL groups them) instead of queueing
behind the lock, which is what keeps a single global chain fast with several writers.

Tables beside it: ``audit_events`` (as in SQLite, plus ``writer``: which process appended
the row, outside the sealed bytes), ``audit_checkpoints``, ``audit_anchor`` (pruning) and
``audit_writers`` (each writer's last index and last checkpoint, for auditors).
"""

from __future__ import annotations

from gateway.postgres import Migration

_TABLES = """
CREATE TABLE audit_head (
    id        SMALLINT PRIMARY KEY CHECK (id = 1),
    size      BIGINT NOT NULL,
    last_hash TEXT NOT NULL,
    frontier  BYTEA[] NOT NULL
);
INSERT INTO audit_head VALUES (1, 0, repeat('0', 64), '{}');
CREATE TABLE audit_events (
    seq         BIGINT PRIMARY KEY,
    event_id    TEXT NOT NULL UNIQUE,
    time        TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    agent_id    TEXT,
    agent_owner TEXT,
    operation   TEXT NOT NULL,
    decision    TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    leaf_hash   TEXT NOT NULL,
    entry       TEXT NOT NULL,
    writer      TEXT NOT NULL
);
CREATE INDEX audit_events_request ON audit_events (request_id);
CREATE INDEX audit_events_agent ON audit_events (agent_id, seq);
CREATE INDEX audit_events_owner ON audit_events (agent_owner, seq);
CREATE INDEX audit_events_operation ON audit_events (operation, seq);
CREATE INDEX audit_events_time ON audit_events (time);
CREATE TABLE audit_tree (
    level SMALLINT NOT NULL,
    idx   BIGINT NOT NULL,
    hash  BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TABLE audit_checkpoints (
    tree_size BIGINT PRIMARY KEY,
    time      TEXT NOT NULL,
    body      TEXT NOT NULL,
    writer    TEXT
);
CREATE TABLE audit_anchor (
    id   SMALLINT PRIMARY KEY CHECK (id = 1),
    body TEXT NOT NULL
);
CREATE TABLE audit_writers (
    writer          TEXT PRIMARY KEY,
    first_seen      TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_append     TIMESTAMPTZ,
    last_index      BIGINT,
    appended        BIGINT NOT NULL DEFAULT 0
);
"""

_APPEND = r"""
CREATE FUNCTION audit_append(
    p_writer TEXT, p_events BYTEA[], p_event_ids TEXT[], p_times TEXT[],
    p_request_ids TEXT[], p_kinds TEXT[], p_agent_ids TEXT[], p_owners TEXT[],
    p_operations TEXT[], p_decisions TEXT[], p_outcomes TEXT[]
) RETURNS TABLE (first_index BIGINT, first_prev TEXT, last_hash TEXT)
LANGUAGE plpgsql AS $$
DECLARE
    n INT := cardinality(p_events);
    head_size BIGINT; head_last TEXT; fr BYTEA[];
    idx BIGINT; prev TEXT; txt BYTEA; h BYTEA; m BIGINT; lvl INT; k INT := 0; f INT;
    seqs BIGINT[]; prevs TEXT[]; leaves TEXT[]; texts TEXT[];
    t_level SMALLINT[]; t_idx BIGINT[]; t_hash BYTEA[];
BEGIN
    -- committed without waiting for the WAL flush, so the head lock is released at once;
    -- the caller makes the batch durable with its next, synchronous commit (see
    -- store_postgres.py), and answers nobody before that
    PERFORM set_config('synchronous_commit', 'off', true);
    SELECT size, audit_head.last_hash, frontier INTO head_size, head_last, fr
      FROM audit_head WHERE id = 1 FOR UPDATE;
    idx := head_size; prev := head_last;
    FOR i IN 1..n LOOP
        txt := '\x7b226576656e74223a'::bytea || p_events[i]
            || convert_to(',"index":' || idx || ',"prev_hash":"' || prev || '"}', 'UTF8');
        h := sha256('\x00'::bytea || txt);
        seqs[i] := idx; prevs[i] := prev; texts[i] := convert_from(txt, 'UTF8');
        prev := encode(h, 'hex'); leaves[i] := prev;
        fr := fr || h;
        m := idx + 1; lvl := 0;
        WHILE m % 2 = 0 LOOP
            f := cardinality(fr);
            h := sha256('\x01'::bytea || fr[f - 1] || fr[f]);
            fr := fr[1:f - 2] || h;
            lvl := lvl + 1; m := m / 2; k := k + 1;
            t_level[k] := lvl; t_idx[k] := m - 1; t_hash[k] := h;
        END LOOP;
        idx := idx + 1;
    END LOOP;
    INSERT INTO audit_events (seq, event_id, time, request_id, kind, agent_id, agent_owner,
                              operation, decision, outcome, prev_hash, leaf_hash, entry, writer)
    SELECT s, e, t, r, kd, a, o, op, d, oc, pv, lf, tx, p_writer
      FROM unnest(seqs, p_event_ids, p_times, p_request_ids, p_kinds, p_agent_ids, p_owners,
                  p_operations, p_decisions, p_outcomes, prevs, leaves, texts)
        AS u(s, e, t, r, kd, a, o, op, d, oc, pv, lf, tx);
    IF k > 0 THEN
        INSERT INTO audit_tree (level, idx, hash) SELECT * FROM unnest(t_level, t_idx, t_hash);
    END IF;
    UPDATE audit_head SET size = idx, last_hash = prev, frontier = fr WHERE id = 1;
    RETURN QUERY SELECT head_size, head_last, prev;
END;
$$;
"""

MIGRATIONS = [
    Migration(1, "audit log: events, head, tree nodes, checkpoints, anchor, writers", _TABLES),
    Migration(2, "audit_append: seal a batch under the head lock", _APPEND),
]
