-- NETRA identity store, schema 3: rows authenticated beyond the sealed embeddings.
-- subjects.mac: HMAC-SHA256 of the subject's id, name and metadata under the store's
-- integrity key (random, kept sealed under the active store key in store_settings).
-- audit_log.chain: HMAC-SHA256 of the previous entry's chain and this entry, so an entry
-- edited, removed or inserted breaks every chain value after it.
ALTER TABLE subjects ADD COLUMN mac BLOB;
ALTER TABLE audit_log ADD COLUMN chain BLOB;
