-- Alerts written from this version on keep their raw record and normalized JSON in one LZ4 frame in
-- `raw` (a BLOB); `raw_len` is the record's length in bytes, where the normalized JSON begins, and
-- `normalized` is then empty. NULL for rows in the earlier forms, which are read as they are
-- (`crates/store/src/sqlite/raw.rs`).
ALTER TABLE alerts ADD COLUMN raw_len INTEGER;
