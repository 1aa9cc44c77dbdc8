-- Mock body files (WireMock's `__files`, `/__admin/files`): what `bodyFileName` names.
-- In the database rather than on disk so that every process sees the same files.
CREATE TABLE mock_files (
    name          TEXT    PRIMARY KEY,
    content       BLOB    NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
