"""Story pictures: the data handed to the renderers, the texts they draw, and the PNGs they return."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
from matplotlib.collections import LineCollection
from PIL import Image

from bot.pictures.canvas import HEIGHT_PX, WIDTH_PX, clip, texts_of
from bot.pictures.relationships import (
    AFFINITY_CMAP, AFFINITY_NORM, EMPTY_MESSAGE, MAX_LABELLED_EDGES, NOTE_CHARS, GraphEdge, GraphNode,
    RelationshipGraph, draw_relationship_map, edge_labels, graph_from_relationships, layout, relationship_map,
    relationship_map_labels, trust_width,
)
from engine import RelationshipView

WHITE = (255, 255, 255)


def _pixels(png: bytes) -> Image.Image:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.load()
    return image.convert("RGB")


def _assert_picture(png: bytes, min_colours: int = 30, min_ink: float = 0.01) -> None:
    """A decodable PNG of the fixed size with many colours and a share of non-background pixels."""
    image = _pixels(png)
    assert image.size == (WIDTH_PX, HEIGHT_PX)
    colours = image.getcolors(maxcolors=WIDTH_PX * HEIGHT_PX)
    assert colours is not None and len(colours) >= min_colours
    ink = sum(count for count, colour in colours if colour != WHITE)
    assert ink >= min_ink * WIDTH_PX * HEIGHT_PX


def _rel(source: tuple[str, str, str], target: tuple[str, str, str], affinity: int = 0, trust: int = 0,
         note: str | None = None) -> RelationshipView:
    return RelationshipView(chat_id="chat-1", source_id=source[0], source_kind=source[1], source_name=source[2],
                            target_id=target[0], target_kind=target[1], target_name=target[2],
                            affinity=affinity, trust=trust, note=note)


ARIA = ("c-aria", "character", "Aria")
BORIN = ("c-borin", "character", "Borin")
CASS = ("c-cass", "character", "Cass")
MIRA = ("u-mira", "persona", "Mira")
LONG_NOTE = "sworn to protect her since the siege of the northern pass, whatever it costs"


def _story_graph() -> RelationshipGraph:
    return graph_from_relationships("The Salt Road", [
        _rel(ARIA, BORIN, 80, 60, LONG_NOTE),
        _rel(BORIN, ARIA, -40, -50, "owes her money"),
        _rel(ARIA, MIRA, 10, 0),
        _rel(CASS, MIRA, -90, -100, "suspects a spy"),
    ])


def _big_graph(nodes: int = 300, edges: int = 1000, seed: int = 3) -> RelationshipGraph:
    rng = random.Random(seed)
    people = tuple(GraphNode(f"n{i}", f"Person {i}", "persona" if i % 7 == 0 else "character") for i in range(nodes))
    links = tuple(GraphEdge(f"n{rng.randrange(nodes)}", f"n{rng.randrange(nodes)}", rng.randint(-100, 100),
                            rng.randint(-100, 100), f"note {i}") for i in range(edges))
    return RelationshipGraph("Crowded city", people, links)


# --- the data: from RelationshipView rows to the graph ---------------------------------------------------------

def test_builder_lists_each_person_once_with_their_kind_in_order_of_appearance() -> None:
    graph = _story_graph()
    assert graph.title == "The Salt Road"
    assert graph.nodes == (
        GraphNode("c-aria", "Aria", "character"), GraphNode("c-borin", "Borin", "character"),
        GraphNode("u-mira", "Mira", "persona"), GraphNode("c-cass", "Cass", "character"),
    )


def test_builder_keeps_one_directed_edge_per_row_with_its_scores_and_note() -> None:
    graph = _story_graph()
    assert graph.edges == (
        GraphEdge("c-aria", "c-borin", 80, 60, LONG_NOTE),
        GraphEdge("c-borin", "c-aria", -40, -50, "owes her money"),
        GraphEdge("c-aria", "u-mira", 10, 0, None),
        GraphEdge("c-cass", "u-mira", -90, -100, "suspects a spy"),
    )


def test_builder_of_no_rows_is_an_empty_graph() -> None:
    assert graph_from_relationships("Quiet", []) == RelationshipGraph("Quiet", (), ())


def test_graph_refuses_edges_to_unknown_nodes_duplicate_ids_and_unknown_kinds() -> None:
    aria = GraphNode("a", "Aria", "character")
    with pytest.raises(ValueError, match="not in the graph"):
        RelationshipGraph("x", (aria,), (GraphEdge("a", "ghost", 0, 0),))
    with pytest.raises(ValueError, match="unique"):
        RelationshipGraph("x", (aria, aria))
    with pytest.raises(ValueError, match="character or a persona"):
        GraphNode("b", "Bot", "bot")  # type: ignore[arg-type]


# --- the texts the map draws -------------------------------------------------------------------------------------

def test_map_labels_hold_the_title_every_name_and_the_clipped_notes() -> None:
    labels = relationship_map_labels(_story_graph())
    assert labels[0] == "The Salt Road — relationships"
    assert {"Aria", "Borin", "Mira", "Cass", "owes her money", "suspects a spy"} <= set(labels)
    clipped = clip(LONG_NOTE, NOTE_CHARS)
    assert clipped in labels and len(clipped) == NOTE_CHARS and clipped.endswith("…")
    assert LONG_NOTE not in labels


def test_the_figure_draws_every_label() -> None:
    graph = _story_graph()
    drawn = texts_of(draw_relationship_map(graph))
    for label in relationship_map_labels(graph):
        assert label in drawn
    assert "affinity" in drawn and "persona" in drawn and "character" in drawn


def test_busy_maps_leave_notes_off_but_keep_names() -> None:
    people = tuple(GraphNode(f"n{i}", f"P{i}", "character") for i in range(12))
    links = tuple(GraphEdge(f"n{i % 12}", f"n{(i * 5 + 1) % 12}", 0, 0, f"note {i}")
                  for i in range(MAX_LABELLED_EDGES + 1))
    calm = RelationshipGraph("t", people, links[:MAX_LABELLED_EDGES])
    busy = RelationshipGraph("t", people, links)
    assert "note 0" in relationship_map_labels(calm)
    assert edge_labels(busy) == [None] * (MAX_LABELLED_EDGES + 1)
    drawn = texts_of(draw_relationship_map(busy))
    assert "P11" in drawn and "note 0" not in drawn


def test_names_are_drawn_literally_not_as_mathtext() -> None:
    name = r"Cash $\notacommand$ Kid"
    graph = RelationshipGraph("$ heist", (GraphNode("a", name, "character"), GraphNode("b", "B_b", "persona")),
                              (GraphEdge("a", "b", 5, 5, "50$ owed"),))
    assert name in texts_of(draw_relationship_map(graph))
    _assert_picture(relationship_map(graph))


# --- how the data becomes lines and colours ---------------------------------------------------------------------

def test_affinity_runs_red_through_grey_to_green_and_trust_sets_width() -> None:
    red, grey, green = (AFFINITY_CMAP(AFFINITY_NORM(v))[:3] for v in (-100, 0, 100))
    assert red[0] > 2 * red[1] and green[1] > 2 * green[0]
    assert max(grey) - min(grey) < 0.02
    assert trust_width(-100) < trust_width(0) < trust_width(100)
    assert trust_width(-500) == trust_width(-100) and trust_width(500) == trust_width(100)


def test_each_edge_is_drawn_with_its_affinity_colour_trust_width_and_dashes_below_zero_trust() -> None:
    graph = _story_graph()
    ax = draw_relationship_map(graph).axes[0]
    (lines,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    expected = AFFINITY_CMAP(AFFINITY_NORM([e.affinity for e in graph.edges]))
    assert np.allclose(lines.get_colors()[:, :3], expected[:, :3])
    assert list(lines.get_linewidths()) == pytest.approx([trust_width(e.trust) for e in graph.edges])
    dashed = [style[1] is not None for style in lines.get_linestyles()]
    assert dashed == [False, True, False, True]


def test_layout_is_repeatable_and_inside_the_square() -> None:
    for graph in (_story_graph(), _big_graph(60, 120), _big_graph(520, 600)):
        first, second = layout(graph), layout(graph)
        assert first.shape == (len(graph.nodes), 2)
        assert np.array_equal(first, second)
        assert np.abs(first).max() <= 1 + 1e-9
        assert len({tuple(np.round(p, 6)) for p in first}) == len(graph.nodes)


# --- the PNG -----------------------------------------------------------------------------------------------------

def test_map_is_a_png_of_the_fixed_size_with_content() -> None:
    _assert_picture(relationship_map(_story_graph()), min_colours=100, min_ink=0.02)


def test_same_graph_same_bytes() -> None:
    assert relationship_map(_story_graph()) == relationship_map(_story_graph())
    assert relationship_map(_big_graph(80, 200)) == relationship_map(_big_graph(80, 200))


def test_empty_graph_renders_a_placeholder_that_says_so() -> None:
    empty = RelationshipGraph("Quiet")
    assert relationship_map_labels(empty) == ("Quiet — relationships", EMPTY_MESSAGE)
    assert EMPTY_MESSAGE in texts_of(draw_relationship_map(empty))
    png = relationship_map(empty)
    _assert_picture(png, min_colours=2, min_ink=0.0005)
    assert png != relationship_map(_story_graph())


@pytest.mark.parametrize(("nodes", "edges"), [(1, 0), (2, 1), (300, 1000), (600, 900)])
def test_graphs_of_every_size_render(nodes: int, edges: int) -> None:
    graph = _big_graph(nodes, edges) if nodes > 1 else RelationshipGraph("one", (GraphNode("a", "Solo", "persona"),))
    _assert_picture(relationship_map(graph), min_colours=30, min_ink=0.005)
    assert graph.nodes[-1].name in texts_of(draw_relationship_map(graph))
