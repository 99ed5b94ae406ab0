"""The terminal frontend: a story in the console, the same commands as Discord's."""
