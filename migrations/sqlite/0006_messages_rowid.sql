-- 0001 kept messages in a WITHOUT ROWID table keyed by digest. There a row
-- over ~1000 bytes (with 4 KiB pages) spills to an overflow page of its own,
-- and random digests scatter the rows: a 1 KiB message cost ~4.5 KiB on disk
-- and two page writes. Here the rows are appended in rowid order with the
-- content inline (up to ~4 KiB per row before overflow), and only the small
-- (digest -> rowid) index takes the random inserts.
CREATE TABLE messages_by_rowid (
    id            INTEGER PRIMARY KEY,
    digest        BLOB    NOT NULL UNIQUE CHECK (length(digest) = 32),
    content       BLOB    NOT NULL,
    content_type  TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL
);

INSERT INTO messages_by_rowid (digest, content, content_type, created_at_ms)
    SELECT digest, content, content_type, created_at_ms FROM messages ORDER BY created_at_ms;

DROP TABLE messages;

ALTER TABLE messages_by_rowid RENAME TO messages;
