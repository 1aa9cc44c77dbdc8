-- The counts of event_counts again per UTC hour and per UTC day (width_ms
-- 3,600,000 or 86,400,000; slot_ms is the hour's or the day's start), kept
-- in the same transaction: a year of day buckets adds up 365 rows a kind
-- instead of 35,040 slots. Buckets in an offset that is not a whole hour
-- still add up event_counts.
CREATE TABLE event_counts_coarse (
    width_ms BIGINT  NOT NULL,
    kind     TEXT    NOT NULL,
    slot_ms  BIGINT  NOT NULL,
    n        BIGINT  NOT NULL,
    PRIMARY KEY (width_ms, kind, slot_ms)
);

INSERT INTO event_counts_coarse (width_ms, kind, slot_ms, n)
SELECT w.width_ms, c.kind, c.slot_ms - (((c.slot_ms % w.width_ms) + w.width_ms) % w.width_ms),
       SUM(c.n)
FROM event_counts c CROSS JOIN (SELECT 3600000 AS width_ms UNION ALL SELECT 86400000) w
GROUP BY 1, 2, 3;
