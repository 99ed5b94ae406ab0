"""Storage backends beside the SQLite default: PostgreSQL (DESIGN.md §6). Imports nothing."""
