-- NETRA identity store, schema 4: collections (galleries). Every subject belongs to one; the
-- existing ones to `default` (id 1). A subject's MAC covers its collection (see IntegrityKey),
-- and an API key may be bound to one collection (NULL: it names one per request).
CREATE TABLE collections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
    created_at TEXT NOT NULL,
    -- The compatible APIs' strict unknown for this collection; NULL follows compat.strict_unknown.
    strict_unknown INTEGER CHECK (strict_unknown IN (0, 1))
);
INSERT INTO collections (id, name, created_at) VALUES (1, 'default', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
ALTER TABLE subjects ADD COLUMN collection_id INTEGER NOT NULL DEFAULT 1;
CREATE INDEX subjects_by_collection_and_name ON subjects(collection_id, name);
ALTER TABLE api_keys ADD COLUMN collection_id INTEGER;
