-- Lifecycle timestamps: when each incident was detected, ingested, triaged, escalated, acknowledged,
-- contained and resolved (and when its attack started, when an analyst knows it), and who or what did
-- it. The first occurrence of each event stands. SOC metrics are computed from these, never estimated.
CREATE TABLE incident_events (
    incident_id TEXT    NOT NULL,
    event       TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    PRIMARY KEY (incident_id, event)
);

-- When the triage worker processed each alert.
ALTER TABLE alerts ADD COLUMN processed_at INTEGER;

-- The engine's verdict when the analyst gave theirs (override rate, accuracy).
ALTER TABLE verdicts ADD COLUMN engine_verdict TEXT;
