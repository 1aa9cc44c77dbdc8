-- WireMock's global settings document (`/__admin/settings`), one row: kept across
-- restarts, and on PostgreSQL the same for every process (a change is announced on
-- the mocks' change channel, as a stub change is).
CREATE TABLE mock_settings (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    document TEXT    NOT NULL
);
