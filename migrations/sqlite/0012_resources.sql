-- Resources: named collections of JSON documents (json-server's db.json,
-- one row per document). A document is kept as the JSON text it was written
-- as, so its keys read back in their order; `id` is its id as text, which is
-- how json-server compares ids (`/posts/1` finds `"id": 1` and `"id": "1"`).
CREATE TABLE resource_collections (
    name TEXT PRIMARY KEY,
    -- The document of a singular resource (a top-level object in db.json);
    -- NULL for a collection.
    singular TEXT,
    -- The JSON Schema every document of the collection must meet; NULL: none.
    schema TEXT,
    -- Creation order: `GET /db` and exports list collections in it.
    ordinal INTEGER NOT NULL,
    -- The position the next document takes: documents list in insertion order.
    next_position INTEGER NOT NULL DEFAULT 0,
    -- Changed by every write to the collection, from a random start (so a
    -- collection removed and made again never repeats one): a process keeps
    -- a collection's parsed documents while this stays the same.
    version INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE resource_documents (
    collection TEXT NOT NULL REFERENCES resource_collections (name) ON DELETE CASCADE,
    id TEXT NOT NULL,
    position INTEGER NOT NULL,
    -- The id when it is a JSON number: the next generated id is one more
    -- than the largest.
    numeric_id REAL,
    body TEXT NOT NULL,
    PRIMARY KEY (collection, id)
);

CREATE INDEX resource_documents_order ON resource_documents (collection, position);
