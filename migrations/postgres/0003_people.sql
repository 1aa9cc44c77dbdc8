-- People: the original `people(id, name, age, locale)` table, plus a version that
-- bumps on every write (the native API's ETag). An identity column: a sequence
-- never hands an id out again after its person is deleted.
-- Text columns use the "C" collation so that sorting and range filters compare
-- code points, exactly as SQLite's BINARY collation does.
CREATE TABLE people (
    id      BIGINT  NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name    TEXT    COLLATE "C" NOT NULL,
    age     INTEGER NOT NULL,
    locale  TEXT    COLLATE "C" NOT NULL,
    version BIGINT  NOT NULL DEFAULT 1
);
-- Filters and sorts on each field, with id as the tiebreaker every listing uses.
CREATE INDEX people_age_id ON people (age, id);
CREATE INDEX people_name_id ON people (name, id);
CREATE INDEX people_locale_id ON people (locale, id);
