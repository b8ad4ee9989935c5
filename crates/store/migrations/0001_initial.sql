-- Picket's store, first version. Times are Unix microseconds (INTEGER) so that they sort and compare
-- as numbers; the JSON documents keep the exact values.

-- Every accepted alert. `id` is the natural key (derived from the source event, so re-sending the same
-- event is a no-op); `seq` is the rowid, never reused (AUTOINCREMENT), and gives the insertion order the
-- triage worker follows.
CREATE TABLE alerts (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT    NOT NULL UNIQUE,
    format      TEXT    NOT NULL,
    rule_key    TEXT    NOT NULL,
    time        INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    raw_sha256  TEXT    NOT NULL,
    raw         TEXT    NOT NULL,
    normalized  TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processed'))
);
CREATE INDEX alerts_pending ON alerts (seq) WHERE status = 'pending';
CREATE INDEX alerts_time ON alerts (time);

-- Records that could not be read, with their bytes exactly as received (BLOB: they may not be UTF-8).
CREATE TABLE dead_letters (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at  INTEGER NOT NULL,
    source       TEXT    NOT NULL,
    line         INTEGER NOT NULL,
    record_index INTEGER NOT NULL,
    code         TEXT    NOT NULL,
    message      TEXT    NOT NULL,
    raw          BLOB    NOT NULL
);

-- The latest assessment of each incident. `doc` is the whole Incident; the other columns are copies
-- for filtering. `superseded_by` is set when every alert of the incident moved to another one (the
-- engine merged them): such rows are kept for their verdicts but no longer listed.
CREATE TABLE incidents (
    id            TEXT    PRIMARY KEY,
    verdict       TEXT    NOT NULL,
    priority      TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    escalation    TEXT    NOT NULL,
    first_seen    INTEGER NOT NULL,
    last_seen     INTEGER NOT NULL,
    alert_count   INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    superseded_by TEXT,
    doc           TEXT    NOT NULL
);
CREATE INDEX incidents_last_seen ON incidents (last_seen DESC);

-- Which incident each alert (first alert of a group) currently belongs to.
CREATE TABLE incident_alerts (
    alert_id    TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id)
);
CREATE INDEX incident_alerts_incident ON incident_alerts (incident_id);

-- The rule keys (`format:rule_id_or_name`) of each incident's alerts: analyst verdicts on an incident
-- become feedback on these rules.
CREATE TABLE incident_rules (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    rule_key    TEXT NOT NULL,
    PRIMARY KEY (incident_id, rule_key)
);

-- Analyst verdicts, append-only.
CREATE TABLE verdicts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT    NOT NULL REFERENCES incidents (id),
    verdict     TEXT    NOT NULL,
    analyst     TEXT    NOT NULL,
    note        TEXT,
    at          INTEGER NOT NULL
);
CREATE INDEX verdicts_incident ON verdicts (incident_id);

-- How often a rule fired on an entity (`host:web01`, `user:alice`, `ip:…`, `hash:…`), across runs.
CREATE TABLE rule_counts (
    rule_key TEXT    NOT NULL,
    entity   TEXT    NOT NULL,
    count    INTEGER NOT NULL,
    PRIMARY KEY (rule_key, entity)
);
