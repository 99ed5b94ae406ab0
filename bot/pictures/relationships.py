"""The relationship map: how characters see each other and the people's personas, drawn as a directed graph."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, cast

import networkx as nx
import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import LinearSegmentedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import offset_copy

from bot.pictures.canvas import (
    INK,
    MUTED,
    axes_px,
    clip,
    draw_placeholder,
    draw_title,
    new_figure,
    png_bytes,
    pt_to_px,
)
from engine import RelationshipView

NodeKind = Literal["character", "persona"]
NODE_KINDS: tuple[str, ...] = ("character", "persona")
SCORE_LIMIT = 100
MAX_LABELLED_EDGES = 60  # above this many edges, notes are left off (they would cover the graph)
NOTE_CHARS = 30
NAME_CHARS = 24
TINY_GRAPH = 6  # up to this many nodes sit on a circle
LARGE_GRAPH = 500  # from this many nodes, two rings by kind (a spring layout would take seconds and scipy)
LAYOUT_SEED = 7
EMPTY_MESSAGE = "No relationships yet"
AFFINITY_CMAP = LinearSegmentedColormap.from_list("affinity", ["#c62828", "#9e9e9e", "#2e7d32"])
AFFINITY_NORM = Normalize(vmin=-SCORE_LIMIT, vmax=SCORE_LIMIT)  # for mapping values only: never given to an artist
NODE_COLOURS = {"character": "#5b8fd9", "persona": "#f2a33a"}
NODE_MARKERS = {"character": "o", "persona": "s"}
DASHED = (0, (4, 2))

# Pixel geometry: a square graph on the left; the colour bar and the key on the right.
GRAPH_BOX = (20.0, 20.0, 720.0, 720.0)
LIMIT = 1.14  # data coordinates shown: layouts fill [-1, 1], the rest is room for names
DATA_PER_PX = 2 * LIMIT / GRAPH_BOX[3]
COLOUR_BAR_BOX = (790.0, 170.0, 18.0, 460.0)
KEY_BOX = (890.0, 170.0, 290.0, 460.0)
CURVE = 0.18  # edges bow to their right, so A→B and B→A stay apart
CURVE_POINTS = 12


@dataclass(frozen=True, slots=True)
class GraphNode:
    """A character or a persona on the map."""

    node_id: str
    name: str
    kind: NodeKind

    def __post_init__(self) -> None:
        if self.kind not in NODE_KINDS:
            raise ValueError(f"a node is a character or a persona, not {self.kind!r}")


@dataclass(frozen=True, slots=True)
class GraphEdge:
    """How the source sees the target: affinity and trust in -100..100, and an optional note."""

    source_id: str
    target_id: str
    affinity: int
    trust: int
    note: str | None = None


@dataclass(frozen=True, slots=True)
class RelationshipGraph:
    """Everything the relationship map draws; every edge joins two of the nodes."""

    title: str
    nodes: tuple[GraphNode, ...] = ()
    edges: tuple[GraphEdge, ...] = ()

    def __post_init__(self) -> None:
        ids = [node.node_id for node in self.nodes]
        if len(set(ids)) != len(ids):
            raise ValueError("node ids must be unique")
        known = set(ids)
        for edge in self.edges:
            if edge.source_id not in known or edge.target_id not in known:
                raise ValueError(f"edge {edge.source_id}→{edge.target_id} names a node that is not in the graph")


@dataclass(frozen=True, slots=True)
class _Style:
    """Sizes that depend on how big the graph is."""

    node_area: float  # marker area in points²
    name_pt: float
    width_scale: float
    arrow_px: float
    edge_alpha: float

    @property
    def node_radius(self) -> float:
        """Half a marker's width, in data coordinates."""
        return pt_to_px(float(np.sqrt(self.node_area))) / 2 * DATA_PER_PX


def graph_from_relationships(title: str, relationships: Iterable[RelationshipView]) -> RelationshipGraph:
    """The graph of a story's relationships: each person once (in order of first appearance), one edge per row."""
    nodes: dict[str, GraphNode] = {}
    edges: list[GraphEdge] = []
    for rel in relationships:
        for node_id, kind, name in ((rel.source_id, rel.source_kind, rel.source_name),
                                    (rel.target_id, rel.target_kind, rel.target_name)):
            if node_id not in nodes:
                nodes[node_id] = GraphNode(node_id=node_id, name=name, kind=kind)  # type: ignore[arg-type]
        edges.append(GraphEdge(source_id=rel.source_id, target_id=rel.target_id, affinity=rel.affinity,
                               trust=rel.trust, note=rel.note))
    return RelationshipGraph(title=title, nodes=tuple(nodes.values()), edges=tuple(edges))


def map_title(data: RelationshipGraph) -> str:
    """The title drawn on the map."""
    return f"{clip(data.title, 60)} — relationships"


def node_label(node: GraphNode) -> str:
    """The name drawn under a node."""
    return clip(node.name, NAME_CHARS)


def edge_labels(data: RelationshipGraph) -> list[str | None]:
    """Per edge, the note drawn on it: None without a note or when the graph is too busy for notes."""
    if len(data.edges) > MAX_LABELLED_EDGES:
        return [None] * len(data.edges)
    return [clip(edge.note, NOTE_CHARS) if edge.note and edge.note.strip() else None for edge in data.edges]


def relationship_map_labels(data: RelationshipGraph) -> tuple[str, ...]:
    """The data-derived texts the map draws: title, then names, then notes (or the empty-graph message)."""
    if not data.nodes:
        return (map_title(data), EMPTY_MESSAGE)
    notes = [note for note in edge_labels(data) if note is not None]
    return (map_title(data), *(node_label(node) for node in data.nodes), *notes)


def relationship_map(data: RelationshipGraph) -> bytes:
    """The relationship map as PNG bytes (WIDTH_PX × HEIGHT_PX); pure and thread-safe."""
    return png_bytes(draw_relationship_map(data))


def draw_relationship_map(data: RelationshipGraph) -> Figure:
    """The relationship map as a matplotlib Figure on its own Agg canvas."""
    fig = new_figure()
    if not data.nodes:
        draw_placeholder(fig, map_title(data), EMPTY_MESSAGE)
        return fig
    draw_title(fig, map_title(data))
    ax = axes_px(fig, *GRAPH_BOX)
    ax.set_xlim(-LIMIT, LIMIT)
    ax.set_ylim(-LIMIT, LIMIT)
    ax.set_axis_off()
    style = _style(data)
    positions = layout(data)
    _draw_edges(ax, data, positions, style)
    _draw_nodes(ax, data, positions, style)
    _draw_key(fig, data, style)
    return fig


def layout(data: RelationshipGraph) -> np.ndarray:
    """Node positions (one row per node, in order) within [-1, 1]²; the same graph always gets the same layout."""
    ids = [node.node_id for node in data.nodes]
    if len(ids) <= 1:
        return np.zeros((len(ids), 2))
    if len(ids) <= TINY_GRAPH:
        pos = nx.circular_layout(ids)
    elif len(ids) >= LARGE_GRAPH:
        rings = [[n.node_id for n in data.nodes if n.kind == kind] for kind in NODE_KINDS]
        pos = nx.shell_layout(ids, nlist=[ring for ring in rings if ring])
    else:
        graph = nx.Graph()
        graph.add_nodes_from(ids)
        graph.add_edges_from((e.source_id, e.target_id) for e in data.edges if e.source_id != e.target_id)
        pos = nx.spring_layout(graph, seed=LAYOUT_SEED)
        return _fill(np.array([pos[node_id] for node_id in ids], dtype=float))
    return np.array([pos[node_id] for node_id in ids], dtype=float)


def _fill(positions: np.ndarray) -> np.ndarray:
    """Stretch each axis to span [-1, 1], so long thin layouts use the whole square."""
    centred = positions - (positions.max(axis=0) + positions.min(axis=0)) / 2
    reach = np.abs(centred).max(axis=0)
    return centred / np.where(reach > 1e-9, reach, 1.0)


def _style(data: RelationshipGraph) -> _Style:
    nodes, busy = len(data.nodes), len(data.edges) > MAX_LABELLED_EDGES
    return _Style(node_area=float(np.clip(9000 / nodes, 30, 900)), name_pt=float(np.clip(11 - nodes / 25, 5, 11)),
                  width_scale=0.5 if busy else 1.0, arrow_px=6.0 if busy else 12.0,
                  edge_alpha=0.6 if busy else 0.9)


def trust_width(trust: int) -> float:
    """Line width in points for a trust score: thin at -100, thick at +100."""
    share = (min(max(trust, -SCORE_LIMIT), SCORE_LIMIT) + SCORE_LIMIT) / (2 * SCORE_LIMIT)
    return 0.6 + 3.4 * share


def _bezier(p0: np.ndarray, control: np.ndarray, p1: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points of quadratic curves: p0, control, p1 are (E, 2), t is (E, K); the result is (E, K, 2)."""
    t = t[:, :, None]
    return (1 - t) ** 2 * p0[:, None] + 2 * (1 - t) * t * control[:, None] + t ** 2 * p1[:, None]


def _edge_geometry(p0: np.ndarray, p1: np.ndarray, radius: float,
                   arrow: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per edge: the curve's points (stopping at the arrow's base), its arrowhead triangle and its midpoint."""
    delta = p1 - p0
    length = np.maximum(np.hypot(delta[:, 0], delta[:, 1]), 1e-9)
    control = (p0 + p1) / 2 + CURVE * np.stack([delta[:, 1], -delta[:, 0]], axis=1)
    start = np.clip(radius / length, 0, 0.5)
    tip = np.clip(1 - radius / length, 0.5, 1)
    base = np.maximum(tip - arrow / length, start)
    steps = np.linspace(0, 1, CURVE_POINTS)[None, :]
    curves = _bezier(p0, control, p1, start[:, None] + (base - start)[:, None] * steps)
    tips = _bezier(p0, control, p1, tip[:, None])[:, 0]
    bases = curves[:, -1]
    direction = tips - bases
    direction /= np.maximum(np.hypot(direction[:, 0], direction[:, 1]), 1e-9)[:, None]
    side = np.stack([-direction[:, 1], direction[:, 0]], axis=1) * arrow * 0.4
    heads = np.stack([tips, bases + side, bases - side], axis=1)
    middles = _bezier(p0, control, p1, np.full((len(p0), 1), 0.5))[:, 0]
    return curves, heads, middles


def _draw_edges(ax: Axes, data: RelationshipGraph, positions: np.ndarray, style: _Style) -> None:
    if not data.edges:
        return
    index = {node.node_id: i for i, node in enumerate(data.nodes)}
    p0 = positions[[index[e.source_id] for e in data.edges]]
    p1 = positions[[index[e.target_id] for e in data.edges]]
    curves, heads, middles = _edge_geometry(p0, p1, style.node_radius, style.arrow_px * DATA_PER_PX)
    colours = AFFINITY_CMAP(AFFINITY_NORM(np.clip([e.affinity for e in data.edges], -SCORE_LIMIT, SCORE_LIMIT)))
    widths = [trust_width(e.trust) * style.width_scale for e in data.edges]
    dashes = [DASHED if e.trust < 0 else "solid" for e in data.edges]
    ax.add_collection(LineCollection(list(curves), colors=colours, linewidths=widths, linestyles=dashes,
                                     alpha=style.edge_alpha, zorder=1, capstyle="butt"))
    ax.add_collection(PolyCollection(list(heads), facecolors=colours, edgecolors="none",
                                     alpha=style.edge_alpha, zorder=2))
    for (x, y), note in zip(middles, edge_labels(data), strict=True):
        if note is not None:
            ax.text(x, y, note, ha="center", va="center", fontsize=8, color=INK, zorder=5, parse_math=False,
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "#cccccc", "lw": 0.5, "alpha": 0.85})


def _draw_nodes(ax: Axes, data: RelationshipGraph, positions: np.ndarray, style: _Style) -> None:
    for kind in NODE_KINDS:
        rows = [i for i, node in enumerate(data.nodes) if node.kind == kind]
        if rows:
            ax.scatter(positions[rows, 0], positions[rows, 1], s=style.node_area, marker=NODE_MARKERS[kind],
                       c=NODE_COLOURS[kind], edgecolors="white", linewidths=1.0, zorder=3)
    below = offset_copy(ax.transData, fig=cast(Figure, ax.figure), y=-(pt_to_px(np.sqrt(style.node_area)) / 2 + 2),
                        units="dots")
    boxed = len(data.nodes) <= 60
    for (x, y), node in zip(positions, data.nodes, strict=True):
        ax.text(x, y, node_label(node), transform=below, ha="center", va="top", fontsize=style.name_pt,
                color=INK, zorder=4, clip_on=False, parse_math=False,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7} if boxed else None)


def _draw_key(fig: Figure, data: RelationshipGraph, style: _Style) -> None:
    bar = axes_px(fig, *COLOUR_BAR_BOX)
    # A norm of its own: an artist subscribes to its norm's callbacks, and pictures are drawn in worker threads,
    # so a shared norm's registry would be changed from two threads at once (matplotlib's CallbackRegistry is
    # not thread-safe: "KeyError" in a weakref callback when a picture is collected).
    norm = Normalize(vmin=-SCORE_LIMIT, vmax=SCORE_LIMIT)
    fig.colorbar(ScalarMappable(norm=norm, cmap=AFFINITY_CMAP), cax=bar, label="affinity",
                 ticks=[-100, -50, 0, 50, 100])
    key = axes_px(fig, *KEY_BOX)
    key.set_axis_off()
    marker: dict[str, Any] = {"ls": "", "markersize": 11, "markeredgecolor": "white"}
    handles = [
        Line2D([], [], marker="o", color=NODE_COLOURS["character"], label="character", **marker),
        Line2D([], [], marker="s", color=NODE_COLOURS["persona"], label="persona", **marker),
        Line2D([], [], color=MUTED, lw=trust_width(100), label="trust +100"),
        Line2D([], [], color=MUTED, lw=trust_width(0), label="trust 0"),
        Line2D([], [], color=MUTED, lw=trust_width(-60), ls="--", label="trust below 0 (dashed)"),
    ]
    key.legend(handles=handles, loc="upper left", frameon=False, fontsize=11, handlelength=3,
               title="arrow: how the source sees the target", title_fontsize=10, alignment="left")
    counts = {kind: sum(node.kind == kind for node in data.nodes) for kind in NODE_KINDS}
    lines = [f"{_count(counts['character'], 'character')} · {_count(counts['persona'], 'persona')}",
             _count(len(data.edges), "relationship")]
    if len(data.edges) > MAX_LABELLED_EDGES:
        lines.append(f"notes left off (over {MAX_LABELLED_EDGES} relationships)")
    key.text(0, 0.05, "\n".join(lines), transform=key.transAxes, fontsize=10, color=MUTED, va="bottom")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
