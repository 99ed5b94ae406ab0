"""Storage behind one port: the SQLite backend (engine.db) and the SQL both backends share."""
