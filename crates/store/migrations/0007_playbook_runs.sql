-- Which playbook (name and version) ran on which incident: each runs once per incident, also across
-- restarts, however often the incident is re-assessed.
CREATE TABLE playbook_runs (
    incident_id TEXT    NOT NULL,
    playbook    TEXT    NOT NULL,
    version     TEXT    NOT NULL,
    sha256      TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (incident_id, playbook, version)
);
