-- NETRA identity store on PostgreSQL, schema 1: the tables and meaning of the SQLite store's
-- migrations 0001-0004 (see ../Migrations), in PostgreSQL's types. Embeddings are stored only
-- sealed (AES-256-GCM, bound to their row); keys are never stored, only their ids.
-- Applied by PostgresSchema under an advisory lock, recorded in netra_migrations.

CREATE TABLE store_settings (
    name TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE encryption_keys (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'retiring', 'retired')),
    retired_at TEXT
);
-- At most one active key.
CREATE UNIQUE INDEX encryption_keys_one_active ON encryption_keys (state) WHERE state = 'active';

CREATE TABLE collections (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
    created_at TEXT NOT NULL,
    -- The compatible APIs' strict unknown for this collection; NULL follows compat.strict_unknown.
    strict_unknown BOOLEAN
);
INSERT INTO collections (id, name, created_at)
    VALUES (1, 'default', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
SELECT setval('collections_id_seq', 1);

CREATE TABLE subjects (
    id BIGSERIAL PRIMARY KEY,
    collection_id BIGINT NOT NULL DEFAULT 1 REFERENCES collections(id) ON DELETE CASCADE,
    name TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    -- HMAC-SHA256 of id, name, metadata and collection under the integrity key (IntegrityKey).
    mac BYTEA
);
CREATE INDEX subjects_by_collection_and_name ON subjects (collection_id, name);

CREATE TABLE faces (
    id BIGSERIAL PRIMARY KEY,
    subject_id BIGINT NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
    model_version TEXT NOT NULL,
    key_id TEXT NOT NULL REFERENCES encryption_keys(id),
    nonce BYTEA NOT NULL,
    ciphertext BYTEA NOT NULL,
    tag BYTEA NOT NULL,
    face_width INTEGER NOT NULL,
    face_height INTEGER NOT NULL,
    detector_confidence DOUBLE PRECISION NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX faces_by_subject ON faces (subject_id);
CREATE INDEX faces_by_key ON faces (key_id);
CREATE INDEX faces_by_model_version ON faces (model_version);

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject_id BIGINT,
    face_id BIGINT,
    result TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    -- HMAC chain over the entries (IntegrityKey.auditChain).
    chain BYTEA
);
CREATE INDEX audit_log_by_time ON audit_log (at);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash BYTEA NOT NULL,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT,
    collection_id BIGINT
);
