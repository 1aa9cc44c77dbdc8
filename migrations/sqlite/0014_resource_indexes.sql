-- Fields echobase indexed by itself because lists filtered on them often
-- (`resources.auto_index_after`): each start-up keeps using their indexes.
-- Fields named in `resources.indexes` are not listed here.
CREATE TABLE resource_indexes (
    field TEXT PRIMARY KEY,
    created_ms INTEGER NOT NULL
);
