"""Fresh ids (`random_id`): the operating system's random bytes, read in blocks, never handed out twice."""

from __future__ import annotations

import os
import re
import threading

from engine.deciders.base import random_id


def test_ids_are_prefixed_random_hex_and_never_repeat_across_blocks_and_threads() -> None:
    made: list[list[str]] = [[] for _ in range(4)]

    def make(into: list[str]) -> None:
        into.extend(random_id("cmd") for _ in range(3_000))  # several 512-id blocks per thread

    threads = [threading.Thread(target=make, args=(into,)) for into in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [i for into in made for i in into]
    assert all(re.fullmatch(r"cmd_[0-9a-f]{16}", i) for i in ids)
    assert len(set(ids)) == len(ids) == 12_000


def test_a_forked_child_makes_other_ids_than_its_parent() -> None:
    random_id("warm")  # the parent has a block in hand when it forks
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        os.close(read)
        os.write(write, " ".join(random_id("x") for _ in range(50)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = set(pipe.read().split())
    os.waitpid(pid, 0)
    parent = {random_id("x") for _ in range(50)}
    assert len(child) == 50 and not child & parent
