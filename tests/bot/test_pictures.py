"""Story pictures: the data handed to the renderers, the texts they draw, and the PNGs they return."""

from __future__ import annotations

import asyncio
import io
import warnings

import numpy as np
import pytest
from matplotlib.collections import LineCollection
from PIL import Image

from bench.pictures import crowded_graph, long_story
from bot.pictures.canvas import HEIGHT_PX, WIDTH_PX, clip, texts_of
from bot.pictures.relationships import (
    AFFINITY_CMAP,
    AFFINITY_NORM,
    EMPTY_MESSAGE,
    MAX_LABELLED_EDGES,
    NOTE_CHARS,
    GraphEdge,
    GraphNode,
    RelationshipGraph,
    draw_relationship_map,
    edge_labels,
    graph_from_relationships,
    layout,
    relationship_map,
    relationship_map_labels,
    trust_width,
)
from bot.pictures.timeline import EMPTY_MESSAGE as EMPTY_TIMELINE
from bot.pictures.timeline import (
    MAX_PLACE_LANES,
    MAX_REWIND_LABELS,
    MAX_SCENE_LABELS,
    MAX_SKIP_LABELS,
    MEANWHILE_LANE,
    Bar,
    Timeline,
    TimelineMeanwhile,
    TimelineRewind,
    TimelineScene,
    TimelineSkip,
    plan_timeline,
    timeline_labels,
)
from bot.pictures.timeline_draw import draw_timeline, story_timeline
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


def test_names_in_any_script_render_without_a_warning_per_missing_glyph() -> None:
    graph = RelationshipGraph("🐉 物語", (GraphNode("a", "Ryū 龍 🐉", "character"), GraphNode("b", "Zoë", "persona")),
                              (GraphEdge("a", "b", 50, 50, "❤️ 愛"),))
    with warnings.catch_warnings():  # drawing for the test's own look at the texts may warn (fonts installed)
        warnings.simplefilter("ignore")
        drawn = texts_of(draw_relationship_map(graph))
    assert {"🐉 物語 — relationships", "Ryū 龍 🐉", "Zoë", "❤️ 愛"} <= set(drawn)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        picture = relationship_map(graph)
    assert [str(w.message) for w in caught if "Glyph" in str(w.message)] == []  # a missing glyph is a box, quietly
    _assert_picture(picture)


# --- how the data becomes lines and colours ---------------------------------------------------------------------

def test_a_drawing_leaves_nothing_subscribed_to_shared_matplotlib_state() -> None:
    """Pictures are drawn in worker threads; an artist listening to the module's norm would make threads
    change one callback registry at once."""
    figure = draw_relationship_map(_story_graph())  # kept alive: its artists would still be subscribed
    assert not AFFINITY_NORM.callbacks.callbacks.get("changed")
    assert figure is not None


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
    for graph in (_story_graph(), crowded_graph(60, 120, seed=3), crowded_graph(520, 600, seed=3)):
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
    assert relationship_map(crowded_graph(80, 200, seed=3)) == relationship_map(crowded_graph(80, 200, seed=3))


def test_empty_graph_renders_a_placeholder_that_says_so() -> None:
    empty = RelationshipGraph("Quiet")
    assert relationship_map_labels(empty) == ("Quiet — relationships", EMPTY_MESSAGE)
    assert EMPTY_MESSAGE in texts_of(draw_relationship_map(empty))
    png = relationship_map(empty)
    _assert_picture(png, min_colours=2, min_ink=0.0005)
    assert png != relationship_map(_story_graph())


@pytest.mark.parametrize(("nodes", "edges"), [(1, 0), (2, 1), (300, 1000), (600, 900)])
def test_graphs_of_every_size_render(nodes: int, edges: int) -> None:
    graph = crowded_graph(nodes, edges, seed=3) if nodes > 1 else RelationshipGraph("one", (GraphNode("a", "Solo", "persona"),))
    _assert_picture(relationship_map(graph), min_colours=30, min_ink=0.005)
    assert graph.nodes[-1].name in texts_of(draw_relationship_map(graph))


# --- the timeline: what goes where ------------------------------------------------------------------------------

DAY = 24 * 60
TRAVEL = "A long day of travel south to the capital, with rain"


def _story_timeline() -> Timeline:
    return Timeline(
        "The Salt Road", now_minute=2 * DAY + 19 * 60 + 30,
        scenes=(TimelineScene("Arrival", "Gilded Goose", 12 * 60, 15 * 60),
                TimelineScene("A quiet talk", "Aria's room", 15 * 60 + 10, 18 * 60),
                TimelineScene("Ambush", "North road", DAY + 8 * 60, DAY + 11 * 60),
                TimelineScene("Back at the inn", "Gilded Goose", DAY + 20 * 60, DAY + 23 * 60),
                TimelineScene("Heist", "Vault $1$", 2 * DAY + 14 * 60, None)),
        skips=(TimelineSkip(18 * 60, DAY + 8 * 60, "They slept through the night"),
               TimelineSkip(DAY + 23 * 60, 2 * DAY + 14 * 60, TRAVEL)),
        meanwhiles=(TimelineMeanwhile(DAY + 12 * 60, ("Borin", "Cass"), "plotting"),
                    TimelineMeanwhile(2 * DAY + 10 * 60, (), "the city watch gathers")),
        rewinds=(TimelineRewind(DAY + 10 * 60, 12), TimelineRewind(2 * DAY + 11 * 60, 1)),
    )


def test_lanes_are_meanwhile_on_top_then_places_in_order_of_first_scene() -> None:
    plan = plan_timeline(_story_timeline())
    assert plan.lanes == (MEANWHILE_LANE, "Gilded Goose", "Aria's room", "North road", "Vault $1$")
    assert plan.meanwhile_lane == 0


def test_scenes_become_bars_on_their_place_lane_and_open_scenes_run_to_now() -> None:
    data = _story_timeline()
    assert plan_timeline(data).bars == (
        Bar(1, 12 * 60, 15 * 60, False), Bar(2, 15 * 60 + 10, 18 * 60, False),
        Bar(3, DAY + 8 * 60, DAY + 11 * 60, False), Bar(1, DAY + 20 * 60, DAY + 23 * 60, False),
        Bar(4, 2 * DAY + 14 * 60, data.now_minute, True),
    )


def test_skips_meanwhiles_rewinds_and_now_are_placed_at_their_minutes() -> None:
    data = _story_timeline()
    plan = plan_timeline(data)
    assert plan.skips == ((18 * 60, DAY + 8 * 60), (DAY + 23 * 60, 2 * DAY + 14 * 60))
    assert plan.meanwhile_minutes == (DAY + 12 * 60, 2 * DAY + 10 * 60)
    assert plan.rewind_minutes == (DAY + 10 * 60, 2 * DAY + 11 * 60)
    assert plan.now == data.now_minute and plan.start < 12 * 60 and plan.end > data.now_minute


def test_timeline_labels_hold_titles_places_summaries_people_rewinds_and_now() -> None:
    labels = timeline_labels(_story_timeline())
    assert labels[0] == "The Salt Road — timeline"
    expected = {"Gilded Goose", "Aria's room", "North road", "Vault $1$", "Arrival", "A quiet talk", "Ambush",
                "Back at the inn", "Heist", "They slept through the night", clip(TRAVEL, 30), "Borin, Cass",
                "the city watch gathers", "rewind (12 events undone)", "rewind (1 event undone)",
                "now · Day 3, 19:30"}
    assert expected <= set(labels)
    assert TRAVEL not in labels


def test_the_timeline_figure_draws_every_label() -> None:
    data = _story_timeline()
    drawn = texts_of(draw_timeline(data))
    for label in timeline_labels(data):
        assert label in drawn
    assert "time skip" in drawn and "rewind" in drawn


def test_ticks_read_day_and_hour_for_short_stories_and_days_for_long_ones() -> None:
    short = plan_timeline(Timeline("s", 6 * 60, (TimelineScene("a", "p", 0, 6 * 60),)))
    assert [t.text for t in short.ticks] == [f"Day 1\n{h:02d}:00" for h in range(0, 7)]
    long = plan_timeline(Timeline("l", 30 * DAY, (TimelineScene("a", "p", 0, 30 * DAY),)))
    assert [t.text for t in long.ticks] == ["Day 1", "Day 8", "Day 15", "Day 22", "Day 29"]
    assert [t.x for t in long.ticks] == [0, 7 * DAY, 14 * DAY, 21 * DAY, 28 * DAY]


def test_many_places_share_an_other_places_lane_and_the_busiest_keep_their_own() -> None:
    scenes = [TimelineScene(f"s{i}", f"P{i}", i * 60, i * 60 + 30) for i in range(20)]
    scenes += [TimelineScene(f"again {i}", "P19", 2000 + i * 60, 2030 + i * 60) for i in range(3)]
    plan = plan_timeline(Timeline("t", 3000, tuple(scenes)))
    assert len(plan.lanes) == MAX_PLACE_LANES
    assert plan.lanes[-1] == f"other places ({20 - (MAX_PLACE_LANES - 1)})"
    assert "P19" in plan.lanes and "P0" in plan.lanes and "P18" not in plan.lanes
    assert plan.bars[18].lane == len(plan.lanes) - 1
    assert plan.bars[19].lane == plan.lanes.index("P19")


def test_crowded_timelines_thin_their_labels() -> None:
    data = long_story(seed=5)
    plan = plan_timeline(data)
    assert len(plan.bars) == len(data.scenes) > 1000
    assert len(plan.lanes) == MAX_PLACE_LANES + 1
    assert all(0 <= bar.lane < len(plan.lanes) for bar in plan.bars)
    assert 0 < len(plan.scene_labels) <= MAX_SCENE_LABELS
    assert 0 < len(plan.skip_labels) <= MAX_SKIP_LABELS < len(data.skips)
    assert 0 < len(plan.rewind_labels) <= MAX_REWIND_LABELS
    assert 0 < len(plan.meanwhile_labels) < len(data.meanwhiles)


def test_labels_at_the_same_minute_are_drawn_once() -> None:
    together = Timeline("t", 600, rewinds=tuple(TimelineRewind(300, 1) for _ in range(50)),
                        skips=tuple(TimelineSkip(100, 200, f"same {i}") for i in range(50)))
    plan = plan_timeline(together)
    assert len(plan.rewind_labels) == 1 and [m.text for m in plan.skip_labels] == ["same 0"]
    apart = Timeline("t", 6000, rewinds=tuple(TimelineRewind(i * 1000, 2) for i in range(6)))
    assert len(plan_timeline(apart).rewind_labels) == 6


# --- the timeline PNG -------------------------------------------------------------------------------------------

def test_timeline_is_a_png_of_the_fixed_size_with_content() -> None:
    _assert_picture(story_timeline(_story_timeline()), min_colours=100, min_ink=0.05)


def test_same_timeline_same_bytes() -> None:
    assert story_timeline(_story_timeline()) == story_timeline(_story_timeline())


def test_empty_story_renders_a_placeholder_that_says_so() -> None:
    empty = Timeline("Fresh", now_minute=12 * 60)
    assert timeline_labels(empty) == ("Fresh — timeline", EMPTY_TIMELINE)
    assert EMPTY_TIMELINE in texts_of(draw_timeline(empty))
    _assert_picture(story_timeline(empty), min_colours=2, min_ink=0.0005)


@pytest.mark.parametrize("data", [
    Timeline("instant", 0, (TimelineScene("blink", "here", 0, 0),)),
    Timeline("only a rewind", 90, rewinds=(TimelineRewind(45, 3),)),
    Timeline("only meanwhile", 90, meanwhiles=(TimelineMeanwhile(30, ("A",)),)),
    long_story(seed=5),
], ids=["instant", "rewind", "meanwhile", "crowded"])
def test_timelines_of_every_shape_render(data: Timeline) -> None:
    _assert_picture(story_timeline(data), min_colours=30, min_ink=0.01)


async def test_renderers_give_the_same_bytes_from_worker_threads() -> None:
    graph, story = _story_graph(), _story_timeline()
    expected = [relationship_map(graph), story_timeline(story)] * 3
    jobs = [asyncio.to_thread(relationship_map, graph) if i % 2 == 0 else asyncio.to_thread(story_timeline, story)
            for i in range(6)]
    assert await asyncio.gather(*jobs) == expected
