-- Facts about the projection itself (SQLite migration 0007): `version` names the rules the live tables
-- were built with; a newer code version reprojects the world once at start-up.
CREATE TABLE projection_meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
