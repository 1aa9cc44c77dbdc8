-- The request journal shared by every process on this database: each process
-- writes its entries here in batches, behind its answers; a read through any
-- process first has every process write what it holds (see the barrier below).
-- Bounded like the in-memory journal: the newest `mocks.journal_size` entries and
-- `mocks.journal_bodies_size` bytes of bodies.
--
-- UNLOGGED: a diagnosis of recent requests, rewritten at the rate requests arrive, need
-- not cost a WAL record per request; a database crash empties it (as a restart empties
-- WireMock's), and replicas do not have it.
CREATE UNLOGGED TABLE mock_journal (
    seq              BIGSERIAL PRIMARY KEY,
    id               TEXT NOT NULL,
    logged_at_ms     BIGINT NOT NULL,
    client_ip        TEXT,
    https            BOOLEAN NOT NULL,
    version          TEXT NOT NULL,
    method           TEXT NOT NULL,
    path             TEXT NOT NULL,
    query            TEXT,
    -- `name:value` lines (neither can hold a line feed).
    headers          BYTEA NOT NULL,
    body             BYTEA NOT NULL,
    body_truncated   BOOLEAN NOT NULL,
    -- The stub that answered; NULL for a request no stub matched.
    stub_id          TEXT,
    status           INTEGER,
    response_headers BYTEA,
    response_body    BYTEA,
    fault            TEXT,
    -- Request and response body bytes, what the bytes bound counts.
    kept_bytes       BIGINT NOT NULL
);

-- Every process that writes the journal, and the newest read barrier it has
-- answered. A process is alive while the connection it listens on is (its
-- backend's pid and start time are in pg_stat_activity).
CREATE TABLE mock_journal_instances (
    instance      TEXT PRIMARY KEY,
    pid           INTEGER NOT NULL,
    backend_start TIMESTAMPTZ NOT NULL,
    flushed       BIGINT NOT NULL
);

-- Read barriers: a reader takes the next value, asks every process to write
-- what it holds, and waits until each has answered that value.
CREATE SEQUENCE mock_journal_barrier;
