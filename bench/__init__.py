"""Chronicle's benchmark suite (`make bench`, or `python -m bench [--quick]`); see docs/PERFORMANCE.md."""
