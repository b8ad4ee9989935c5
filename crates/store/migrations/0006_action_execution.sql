-- Durable execution of response actions: each claim, attempt and result is committed before and
-- after the vendor call, so a restart knows exactly where every action stood.
ALTER TABLE actions ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
-- The responder instance that runs (ran) it.
ALTER TABLE actions ADD COLUMN responder TEXT;
ALTER TABLE actions ADD COLUMN started_at INTEGER;
ALTER TABLE actions ADD COLUMN finished_at INTEGER;
-- JSON: the undo (action, target, params, responder), recorded before the action runs.
ALTER TABLE actions ADD COLUMN undo TEXT;
-- JSON: the vendor's outcome, or the error.
ALTER TABLE actions ADD COLUMN result TEXT;
-- The action this one undoes (a rollback), and the action that undid this one.
ALTER TABLE actions ADD COLUMN undoes TEXT REFERENCES actions (id);
ALTER TABLE actions ADD COLUMN rolled_back_by TEXT;

-- Whether automated response is paused (breaker tripped, alert flood), and why. One row at most.
CREATE TABLE response_pause (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    reason TEXT    NOT NULL,
    since  INTEGER NOT NULL
);
