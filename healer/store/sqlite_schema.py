"""The SQLite schema of `SqliteStore`; every statement is idempotent.

`SCHEMA_VERSION` goes up with every incompatible change; a database of another version is
refused (nothing has shipped, so there is nothing to migrate).
"""

from __future__ import annotations

SCHEMA_VERSION = 2
AUDIT_TRIGGERS = ("audit_no_update", "audit_no_delete")

SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    id          TEXT PRIMARY KEY,
    opened_at   TEXT NOT NULL,
    closed      INTEGER NOT NULL CHECK (closed IN (0, 1)),
    doc         TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS incidents_open ON incidents (closed, opened_at);

CREATE TABLE IF NOT EXISTS incident_resources (
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    resource    TEXT NOT NULL,
    PRIMARY KEY (incident_id, resource)
) STRICT;
CREATE INDEX IF NOT EXISTS incident_resources_resource ON incident_resources (resource);

CREATE TABLE IF NOT EXISTS events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    dedup_key   TEXT NOT NULL,
    first       INTEGER NOT NULL CHECK (first IN (0, 1)),
    status      TEXT NOT NULL
                CHECK (status IN ('accepted', 'duplicate', 'rejected', 'suppressed')),
    reason      TEXT NOT NULL,
    incident_id TEXT,
    raw         TEXT NOT NULL,
    received_at TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS events_first_delivery ON events (dedup_key) WHERE first = 1;
CREATE INDEX IF NOT EXISTS events_key ON events (dedup_key);

CREATE TABLE IF NOT EXISTS alarm_transitions (
    alarm       TEXT NOT NULL,
    at          TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS alarm_transitions_alarm ON alarm_transitions (alarm, at);

CREATE TABLE IF NOT EXISTS approvals (
    id           TEXT PRIMARY KEY,
    incident_id  TEXT NOT NULL,
    plan_hash    TEXT NOT NULL,
    status       TEXT NOT NULL
                 CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED', 'EXPIRED', 'CONSUMED')),
    automatic    INTEGER NOT NULL CHECK (automatic IN (0, 1)),
    requested_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    decided_by   TEXT,
    decided_at   TEXT,
    plan         TEXT,
    requested_by TEXT,
    approvals_needed INTEGER NOT NULL DEFAULT 1 CHECK (approvals_needed >= 1),
    approved_by  TEXT NOT NULL DEFAULT '[]',
    updated_at   TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS approvals_incident ON approvals (incident_id, requested_at);

CREATE TABLE IF NOT EXISTS locks (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS executions (
    incident_id TEXT NOT NULL,
    plan_hash   TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('started', 'succeeded', 'failed')),
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    params      TEXT NOT NULL,
    external_id TEXT,
    result      TEXT,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    attempts    INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (incident_id, plan_hash)
) STRICT;
CREATE INDEX IF NOT EXISTS executions_target ON executions (target, started_at);

CREATE TABLE IF NOT EXISTS audit (
    gseq        INTEGER PRIMARY KEY CHECK (gseq >= 1),
    incident_id TEXT NOT NULL,
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    at          TEXT NOT NULL,
    data        TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    UNIQUE (incident_id, seq)
) STRICT;
CREATE INDEX IF NOT EXISTS audit_kind ON audit (kind, gseq);

CREATE TABLE IF NOT EXISTS audit_head (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    gseq          INTEGER NOT NULL,
    hash          TEXT NOT NULL,
    digests       INTEGER NOT NULL,
    digest_name   TEXT,
    digest_sha256 TEXT,
    digest_gseq   INTEGER NOT NULL,
    key_id        TEXT NOT NULL,
    mac           TEXT NOT NULL
) STRICT;

-- What the store found wrong with the audit log when it opened (e.g. a dropped trigger,
-- restored by the statements below), so that every later verification still reports it.
CREATE TABLE IF NOT EXISTS audit_findings (
    found_at TEXT NOT NULL,
    problem  TEXT NOT NULL
) STRICT;

CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only: UPDATE refused');
END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only: DELETE refused');
END;
"""
