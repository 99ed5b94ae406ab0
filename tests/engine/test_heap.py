"""engine.heap: a process's long-lived objects frozen out of the garbage collector's passes, and collected again
once they become garbage and the process settles anew (the bot does after each new gateway session)."""

from __future__ import annotations

import gc
import weakref

from engine import heap


class _Node:
    """An object in a reference cycle: only the collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_a_settled_object_stays_out_of_collections_until_the_next_settle() -> None:
    node = _Node()
    alive = weakref.ref(node)
    try:
        assert heap.settle() > 0
        del node
        gc.collect()
        assert alive() is not None  # frozen: a collection does not look at it
        heap.settle()
        assert alive() is None  # settling again unfreezes first, so the garbage it became is collected
    finally:
        gc.unfreeze()
