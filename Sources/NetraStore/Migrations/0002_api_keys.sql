-- NETRA identity store, schema 2: API keys for the HTTP service.
-- Only a SHA-256 of each key's secret is stored; the key itself is shown once, at creation.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);
