-- Mock scenario states, shared by every process on this database: a request that moves
-- a scenario on does so for the whole fleet. A scenario without a row is in `Started`.
CREATE TABLE mock_scenarios (
    name  TEXT PRIMARY KEY,
    state TEXT NOT NULL
);
