-- NETRA identity store, schema 1.
-- Embeddings are stored only sealed (AES-256-GCM); keys are never stored, only their ids.

-- Per-store settings, e.g. the scrypt salt for passphrase keys.
CREATE TABLE store_settings (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

-- The keys rows are sealed with: a public fingerprint and a state, never the key.
CREATE TABLE encryption_keys (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'retiring', 'retired')),
    retired_at TEXT
);

CREATE TABLE subjects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX subjects_by_name ON subjects(name);

-- One enrolled face: its sealed embedding and quality facts, never the image.
CREATE TABLE faces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_id INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
    model_version TEXT NOT NULL,
    key_id TEXT NOT NULL REFERENCES encryption_keys(id),
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    tag BLOB NOT NULL,
    face_width INTEGER NOT NULL,
    face_height INTEGER NOT NULL,
    detector_confidence REAL NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX faces_by_subject ON faces(subject_id);
CREATE INDEX faces_by_key ON faces(key_id);

-- Who did what, when, with what result; never biometric data.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject_id INTEGER,
    face_id INTEGER,
    result TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_by_time ON audit_log(at);
