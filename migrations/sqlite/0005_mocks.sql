-- Mock stubs (WireMock stub mappings; a compatible /endpoints mock is one of them).
-- `seq` orders stubs by creation: among equal priorities the newest wins.
CREATE TABLE mock_stubs (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT    NOT NULL UNIQUE,
    mapping       TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
