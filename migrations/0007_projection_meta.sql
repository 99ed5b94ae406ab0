-- Facts about the projection itself. `version` names the rules the live tables were built with; when
-- the code's projection version is newer (a handler now derives rows differently, such as names compared
-- after Unicode normalisation), the engine reprojects the world once at start-up, without stopping
-- the stories, and records the new version in the same transaction that switches the tables over.
CREATE TABLE projection_meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
