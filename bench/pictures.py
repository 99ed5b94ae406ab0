"""`python -m bench.pictures`: how long the story pictures take to render (medians of 5 runs, first run apart)."""

from __future__ import annotations

import functools
import random
import statistics
import time
from collections.abc import Callable

from bot.pictures import (
    GraphEdge,
    GraphNode,
    RelationshipGraph,
    Timeline,
    TimelineMeanwhile,
    TimelineRewind,
    TimelineScene,
    TimelineSkip,
    relationship_map,
    story_timeline,
)

RUNS = 5


def crowded_graph(nodes: int = 300, edges: int = 1000, seed: int = 1) -> RelationshipGraph:
    """A graph of `nodes` people (one in seven a persona) and `edges` random relationships, each with a note."""
    rng = random.Random(seed)
    people = tuple(GraphNode(f"n{i}", f"Person {i}", "persona" if i % 7 == 0 else "character") for i in range(nodes))
    links = tuple(GraphEdge(f"n{rng.randrange(nodes)}", f"n{rng.randrange(nodes)}", rng.randint(-100, 100),
                            rng.randint(-100, 100), f"note {i}") for i in range(edges))
    return RelationshipGraph("Benchmark city", people, links)


def long_story(items: int = 2000, seed: int = 1) -> Timeline:
    """A story of `items` scenes, skips, meanwhile scenes and rewinds, one after another in 30 places."""
    rng = random.Random(seed)
    scenes: list[TimelineScene] = []
    skips: list[TimelineSkip] = []
    meanwhiles: list[TimelineMeanwhile] = []
    rewinds: list[TimelineRewind] = []
    minute = 9 * 60
    while len(scenes) + len(skips) + len(meanwhiles) + len(rewinds) < items:
        length = rng.randint(20, 240)
        scenes.append(TimelineScene(f"Scene {len(scenes)}", f"Place {rng.randrange(30)}", minute, minute + length))
        minute += length
        roll = rng.random()
        if roll < 0.4:
            skip = rng.randint(60, 2000)
            skips.append(TimelineSkip(minute, minute + skip, f"{skip} minutes of travel"))
            minute += skip
        elif roll < 0.6:
            meanwhiles.append(TimelineMeanwhile(minute, ("Borin", f"Guard {len(meanwhiles)}"), "plots"))
        elif roll < 0.63:
            rewinds.append(TimelineRewind(minute, rng.randint(1, 40)))
    return Timeline("Benchmark story", minute + 30, tuple(scenes), tuple(skips), tuple(meanwhiles), tuple(rewinds))


def measure(render: Callable[[], bytes], runs: int = RUNS) -> tuple[float, float]:
    """Seconds for the first call (fonts and caches cold) and the median of `runs` calls after it."""
    started = time.perf_counter()
    render()
    first = time.perf_counter() - started
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        render()
        times.append(time.perf_counter() - started)
    return first, statistics.median(times)


def main() -> None:
    """Print the first-call time and the median of 5 runs for each picture at the target sizes and small ones."""
    cases: list[tuple[str, Callable[[], bytes]]] = []
    for nodes, edges in ((300, 1000), (30, 50)):
        graph = crowded_graph(nodes, edges)
        cases.append((f"relationship_map {nodes} nodes / {edges} edges", functools.partial(relationship_map, graph)))
    for items in (2000, 40):
        story = long_story(items)
        cases.append((f"story_timeline {items} items", functools.partial(story_timeline, story)))
    print(f"{'picture':<44} {'first':>9} {'median of ' + str(RUNS):>13}")
    for label, render in cases:
        first, median = measure(render)
        print(f"{label:<44} {first * 1000:>7.0f} ms {median * 1000:>10.0f} ms")


if __name__ == "__main__":
    main()
