-- Messages by the SHA-256 of their bytes. Content is immutable: the digest is the key.
CREATE TABLE messages (
    digest        BYTEA  NOT NULL PRIMARY KEY CHECK (octet_length(digest) = 32),
    content       BYTEA  NOT NULL,
    content_type  TEXT   NOT NULL,
    created_at_ms BIGINT NOT NULL
);
