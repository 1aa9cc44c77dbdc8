-- Fields echobase indexed by itself because lists filtered on them often
-- (`resources.auto_index_after`): every process, and each start-up, keeps
-- using their indexes. Fields named in `resources.indexes` are not listed here.
CREATE TABLE resource_indexes (
    field TEXT COLLATE "C" PRIMARY KEY,
    created_ms BIGINT NOT NULL
);
