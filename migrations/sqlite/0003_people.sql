-- People: the original `people(id, name, age, locale)` table, plus a version that
-- bumps on every write (the native API's ETag). AUTOINCREMENT so that an id is
-- never handed out again after its person is deleted.
CREATE TABLE people (
    id      INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    name    TEXT    NOT NULL,
    age     INTEGER NOT NULL,
    locale  TEXT    NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
-- Filters and sorts on each field, with id as the tiebreaker every listing uses.
CREATE INDEX people_age_id ON people (age, id);
CREATE INDEX people_name_id ON people (name, id);
CREATE INDEX people_locale_id ON people (locale, id);
