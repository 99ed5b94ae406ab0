"""`make soak`: crash, load and reproject trials run by hand (docs/RELIABILITY.md has the figures)."""
