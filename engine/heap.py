"""A long-running process's start-up objects, kept out of the garbage collector's way.

CPython's collector walks every tracked object in its full passes: in a bot process that is every module, model
class, settings object and cache loaded at start-up, tens of thousands of objects that live as long as the
process. One full pass of a process serving a 100,000-message story took about 20 ms (bench section 14), as much
as building two prompts, and it lands on whichever reply happens to be running. `settle` runs one collection and
then freezes what survived (`gc.freeze`), so later passes walk only what the process made since. Settling again
(the bot does after each new gateway session, whose caches replace the last one's) first unfreezes, so what was
frozen and has since become garbage is collected then, not kept for the life of the process.
"""

from __future__ import annotations

import gc


def settle() -> int:
    """Collect once (what an earlier settle froze included), then move every surviving object out of the collector's
    passes; returns how many are frozen (what the process allocates later is collected as before)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
