-- When an action's approval timeout passed (its tier's timeout behaviour was applied once).
ALTER TABLE actions ADD COLUMN timed_out_at INTEGER;
