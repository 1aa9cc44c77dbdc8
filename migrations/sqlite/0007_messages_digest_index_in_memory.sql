-- Messages without an index on the digest (see src/messages/store/sqlite.rs).
-- A digest is random, so a B-tree index on it took every insert on a
-- different page: one 4 KiB page write per message at commit and another at
-- the checkpoint, which capped durable writes near 15,000/s. Rows are now
-- appended in id order and found through a digest -> id map in memory,
-- rebuilt at start-up from `messages`, which is kept narrow for that: the
-- content lives in `message_contents` under the same id.
CREATE TABLE message_contents (
    id      INTEGER PRIMARY KEY,
    content BLOB    NOT NULL
);

CREATE TABLE messages_without_content (
    id            INTEGER PRIMARY KEY,
    digest        BLOB    NOT NULL CHECK (length(digest) = 32),
    size          INTEGER NOT NULL,
    content_type  TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL
);

INSERT INTO message_contents (id, content) SELECT id, content FROM messages;

INSERT INTO messages_without_content (id, digest, size, content_type, created_at_ms)
    SELECT id, digest, length(content), content_type, created_at_ms FROM messages;

DROP TABLE messages;

ALTER TABLE messages_without_content RENAME TO messages;
