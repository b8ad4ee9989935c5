-- Threat-intel answers cached across restarts (the enrichment cache's backend). One row per
-- (connector, indicator); `result` is the IntelResult JSON; rows past `expires_at` are ignored and
-- pruned on write.
CREATE TABLE intel_results (
    source     TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    fetched_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    result     TEXT    NOT NULL,
    PRIMARY KEY (source, kind, value)
);
CREATE INDEX intel_results_expiry ON intel_results (expires_at);
