-- Messages by the SHA-256 of their bytes. Content is immutable: the digest is the key.
CREATE TABLE messages (
    digest        BLOB    NOT NULL PRIMARY KEY CHECK (length(digest) = 32),
    content       BLOB    NOT NULL,
    content_type  TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
