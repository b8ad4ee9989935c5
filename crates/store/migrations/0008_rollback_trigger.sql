-- A rollback that succeeds marks the action it undoes as rolled back, in the same statement as its
-- own result (one atomic write, no transaction round trips).
CREATE TRIGGER actions_rollback_marks_original
AFTER UPDATE OF state ON actions
WHEN NEW.state = 'succeeded' AND NEW.undoes IS NOT NULL
BEGIN
    UPDATE actions SET state = 'rolled_back', rolled_back_by = NEW.id, updated_at = NEW.updated_at
    WHERE id = NEW.undoes AND state = 'succeeded';
END;
