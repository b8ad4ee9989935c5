-- Proposed response actions and their approvals. `proposal` and `decision` are the policy crate's
-- JSON; `state` is the action's state machine position.
CREATE TABLE actions (
    id            TEXT    PRIMARY KEY,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    incident_id   TEXT,
    state         TEXT    NOT NULL,
    approvals_needed INTEGER NOT NULL,
    approval_hash TEXT    NOT NULL,
    proposal      TEXT    NOT NULL,
    decision      TEXT    NOT NULL
);
CREATE INDEX actions_state ON actions (state, created_at);

CREATE TABLE action_approvals (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    action_id     TEXT    NOT NULL REFERENCES actions (id),
    user          TEXT    NOT NULL,
    approve       INTEGER NOT NULL,
    reason        TEXT,
    approval_hash TEXT    NOT NULL,
    at            INTEGER NOT NULL
);
CREATE INDEX action_approvals_action ON action_approvals (action_id);
