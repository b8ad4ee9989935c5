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


-- What the policy reads of each action, as columns (no JSON parsing per proposal).
ALTER TABLE actions ADD COLUMN action TEXT NOT NULL DEFAULT '';
ALTER TABLE actions ADD COLUMN target TEXT NOT NULL DEFAULT '';
ALTER TABLE actions ADD COLUMN automated INTEGER NOT NULL DEFAULT 0;
UPDATE actions SET
    action = json_extract(proposal, '$.action'),
    target = json_extract(proposal, '$.target'),
    automated = json_extract(proposal, '$.proposer') IN ('playbook', 'agent', 'mcp');

-- The policy's history (recent actions, and the active ones of one incident) read from covering
-- indexes: the action rows, with their JSON, are not touched.
CREATE INDEX actions_policy_recent
    ON actions (updated_at, state, action, target, incident_id, automated, started_at);
CREATE INDEX actions_policy_incident
    ON actions (incident_id, state, action, target, updated_at, automated, started_at);
