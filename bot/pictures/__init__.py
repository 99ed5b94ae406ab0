"""Story pictures: pure renderers from plain data to PNG bytes (no database, no Discord, no network).

Each renderer draws on its own matplotlib Figure with an Agg canvas (never pyplot), so frontends can call it in
a worker thread: `png = await asyncio.to_thread(relationship_map, graph)`.
"""

from __future__ import annotations

from bot.pictures.canvas import DPI, HEIGHT_PX, WIDTH_PX
from bot.pictures.relationships import (
    GraphEdge,
    GraphNode,
    RelationshipGraph,
    graph_from_relationships,
    relationship_map,
    relationship_map_labels,
)
from bot.pictures.timeline import (
    Timeline,
    TimelineMeanwhile,
    TimelineRewind,
    TimelineScene,
    TimelineSkip,
    timeline_labels,
)
from bot.pictures.timeline_draw import story_timeline

__all__ = [
    "DPI", "HEIGHT_PX", "WIDTH_PX", "GraphEdge", "GraphNode", "RelationshipGraph", "graph_from_relationships",
    "relationship_map", "relationship_map_labels", "Timeline", "TimelineMeanwhile", "TimelineRewind",
    "TimelineScene", "TimelineSkip", "story_timeline", "timeline_labels",
]
