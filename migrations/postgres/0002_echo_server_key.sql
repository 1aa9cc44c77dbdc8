-- The echo route's generated server_key: one row, shared by every process on this
-- database, so a restart (or another instance) keeps the same key.
CREATE TABLE echo_server_key (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    server_key TEXT    NOT NULL
);
