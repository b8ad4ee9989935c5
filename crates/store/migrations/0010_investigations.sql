-- LLM investigations of incidents: what the agent found and proposed, whether it degraded, and
-- what it cost (tokens and money, for the cost-per-incident metric). `doc` is the whole
-- investigation as JSON; the columns are what lists and metrics read.
CREATE TABLE investigations (
    id            TEXT    PRIMARY KEY,
    incident_id   TEXT    NOT NULL,
    mode          TEXT    NOT NULL,
    provider      TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    verdict       TEXT    NOT NULL,
    started_at    INTEGER NOT NULL,
    finished_at   INTEGER NOT NULL,
    input_tokens  INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost          REAL    NOT NULL,
    doc           TEXT    NOT NULL
);
CREATE INDEX investigations_incident ON investigations (incident_id, started_at);
