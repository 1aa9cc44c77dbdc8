-- Deployment-pipeline events (commits, stages, deploys, incidents, ...).
-- `seq` is the rowid: insertion order, the tie-breaker of cursors, and the compat `id`
-- of events whose own id is not a decimal integer. Times are UTC epoch milliseconds.
CREATE TABLE events (
    seq          INTEGER NOT NULL PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    legacy_id    INTEGER,
    time_ms      INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    actor        TEXT,
    service      TEXT,
    environment  TEXT,
    sha          TEXT,
    result       TEXT,
    attributes   TEXT    NOT NULL DEFAULT '{}',
    received_ms  INTEGER NOT NULL
);
CREATE INDEX events_time ON events (time_ms);
CREATE INDEX events_actor_time ON events (actor, time_ms);
CREATE INDEX events_service_environment_time ON events (service, environment, time_ms);
-- Per-kind counts over time ranges (summaries, DORA) read this index alone.
CREATE INDEX events_kind_time ON events (kind, time_ms);
-- Lead time: the first commit or stage of a deployed sha.
CREATE INDEX events_sha_time ON events (sha, time_ms);

-- Webhook deliveries already processed, so a replayed delivery stores nothing new.
CREATE TABLE event_deliveries (
    source       TEXT    NOT NULL,
    delivery_id  TEXT    NOT NULL,
    received_ms  INTEGER NOT NULL,
    PRIMARY KEY (source, delivery_id)
) WITHOUT ROWID;

-- Events per kind per 15-minute slot (slot_ms: UTC epoch milliseconds of the
-- slot's start), kept in the same transaction as the events: an unfiltered
-- summary adds up slots instead of counting millions of events. 15 minutes
-- divides every real UTC offset, so day, week and month buckets in any offset
-- are whole slots.
CREATE TABLE event_counts (
    kind     TEXT    NOT NULL,
    slot_ms  INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (kind, slot_ms)
) WITHOUT ROWID;
