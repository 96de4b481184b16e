-- NETRA identity store on PostgreSQL, schema 2: the change log that keeps every replica's
-- in-memory index in step with the shared store. Each change to what the index holds writes
-- one row here in its own transaction (under the audit lock, so sequence order is commit
-- order) and notifies channel netra_changes; replicas apply the rows after the last sequence
-- they applied. A row names what changed, never an embedding.
CREATE TABLE changes (
    seq BIGSERIAL PRIMARY KEY,
    -- face: re-read that face (added, moved, deleted); subject: that subject was deleted;
    -- collection: that collection was deleted.
    kind TEXT NOT NULL CHECK (kind IN ('face', 'subject', 'collection')),
    target_id BIGINT NOT NULL,
    collection_id BIGINT,
    at TEXT NOT NULL
);
