"""Storage behind one port (engine.storage.port): SQLite (engine.db) and PostgreSQL (pg_*), and the SQL they share."""
