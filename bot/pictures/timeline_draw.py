"""Drawing the story timeline's plan: lanes, scene bars, skips, meanwhile markers, rewinds and now."""

from __future__ import annotations

from typing import cast

from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory, offset_copy

from bot.pictures.canvas import INK, MUTED, axes_px, draw_placeholder, draw_title, new_figure, png_bytes
from bot.pictures.timeline import (
    BAR_HEIGHT,
    EMPTY_MESSAGE,
    PLOT_BOX,
    SIDE_PT,
    Timeline,
    TimelinePlan,
    plan_timeline,
    timeline_title,
)

LANE_COLOURS = colormaps["tab20"]
SKIP_COLOUR = "#b0bec5"
SKIP_INK = "#37474f"
MEANWHILE_COLOUR = "#7e57c2"
REWIND_COLOUR = "#c62828"
NOW_COLOUR = "#1565c0"
BAND_COLOUR = "#f5f5f5"
MIN_BAR_PX = 1.5  # a scene that lasted no story time still shows as a sliver


def story_timeline(data: Timeline) -> bytes:
    """The story timeline as PNG bytes (WIDTH_PX × HEIGHT_PX); pure and thread-safe."""
    return png_bytes(draw_timeline(data))


def draw_timeline(data: Timeline) -> Figure:
    """The story timeline as a matplotlib Figure on its own Agg canvas."""
    fig = new_figure()
    if data.empty:
        draw_placeholder(fig, timeline_title(data), EMPTY_MESSAGE)
        return fig
    plan = plan_timeline(data)
    draw_title(fig, plan.title)
    ax = axes_px(fig, *PLOT_BOX)
    _frame(ax, plan)
    _draw_skips(ax, plan)
    _draw_scenes(ax, plan)
    _draw_meanwhiles(ax, plan)
    _draw_rewinds_and_now(ax, plan)
    _draw_key(fig)
    return fig


def _lane_colour(lane: int) -> tuple[float, float, float, float]:
    return LANE_COLOURS((lane * 2) % 20 / 20 + (lane // 10) % 2 / 20)


def _box(left: float, right: float, low: float, high: float) -> list[tuple[float, float]]:
    return [(left, low), (left, high), (right, high), (right, low)]


def _frame(ax: Axes, plan: TimelinePlan) -> None:
    """Axis limits, Day/hour ticks, alternating lane bands and the lane names."""
    lanes = max(len(plan.lanes), 1)
    ax.set_xlim(plan.start, plan.end)
    ax.set_ylim(lanes - 0.5, -0.5)  # lane 0 on top
    ax.set_yticks([])
    ax.set_xticks([t.x for t in plan.ticks], [t.text for t in plan.ticks])
    ax.tick_params(axis="x", labelsize=9, colors=INK)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    for lane in range(1, lanes, 2):
        ax.axhspan(lane - 0.5, lane + 0.5, color=BAND_COLOUR, zorder=0, linewidth=0)
    names = blended_transform_factory(ax.transAxes, ax.transData)
    for lane, name in enumerate(plan.lanes):
        italic = lane == plan.meanwhile_lane
        ax.text(-0.01, lane, name, transform=names, ha="right", va="center", fontsize=plan.lane_pt,
                color=MEANWHILE_COLOUR if italic else INK, style="italic" if italic else "normal",
                parse_math=False)


def _draw_skips(ax: Axes, plan: TimelinePlan) -> None:
    """Skipped time as shaded spans over every lane, with summaries written upright."""
    if not plan.skips:
        return
    across = ax.get_xaxis_transform()
    spans = [_box(a, b, 0, 1) for a, b in plan.skips]
    ax.add_collection(PolyCollection(spans, facecolors=SKIP_COLOUR, edgecolors=SKIP_COLOUR, linewidths=0.5,
                                     alpha=0.55, transform=across, zorder=1))
    for mark in plan.skip_labels:
        ax.text(mark.x, 0.985, mark.text, transform=across, rotation=90, ha="center", va="top", fontsize=SIDE_PT,
                color=SKIP_INK, zorder=3, parse_math=False,
                bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.6})


def _draw_scenes(ax: Axes, plan: TimelinePlan) -> None:
    """Closed scenes as solid bars, open ones hatched up to now, titles where they fit."""
    half, least = BAR_HEIGHT / 2, MIN_BAR_PX / plan.px_per_minute
    for is_open in (False, True):
        bars = [bar for bar in plan.bars if bar.open is is_open]
        if not bars:
            continue
        boxes = [_box(b.start, max(b.end, b.start + least), b.lane - half, b.lane + half) for b in bars]
        colours = [_lane_colour(b.lane) for b in bars]
        if is_open:
            shapes = PolyCollection(boxes, facecolors="white", edgecolors=colours, linewidths=1.2, hatch="///",
                                    zorder=2)
        else:
            edges = "white" if len(bars) <= 200 else colours  # white edges would swallow sub-pixel bars
            shapes = PolyCollection(boxes, facecolors=colours, edgecolors=edges, linewidths=0.4, zorder=2)
        ax.add_collection(shapes)
    after_start = offset_copy(ax.transData, fig=cast(Figure, ax.figure), x=3, units="dots")
    for mark in plan.scene_labels:
        ax.text(mark.x, mark.y, mark.text, transform=after_start, ha="left", va="center", fontsize=plan.scene_pt,
                color=INK, zorder=4, clip_on=True, parse_math=False,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.65})


def _draw_meanwhiles(ax: Axes, plan: TimelinePlan) -> None:
    """Meanwhile scenes as diamonds on their lane, with who took part above or below."""
    lane = plan.meanwhile_lane
    if lane is None:
        return
    ax.scatter(plan.meanwhile_minutes, [lane] * len(plan.meanwhile_minutes), marker="D", s=40,
               c=MEANWHILE_COLOUR, edgecolors="white", linewidths=0.6, zorder=3)
    for mark in plan.meanwhile_labels:
        above = mark.y == 0
        ax.text(mark.x, lane - 0.12 if above else lane + 0.12, mark.text, ha="center",
                va="bottom" if above else "top", fontsize=SIDE_PT, color=MEANWHILE_COLOUR, zorder=5,
                clip_on=True, parse_math=False)


def _draw_rewinds_and_now(ax: Axes, plan: TimelinePlan) -> None:
    """Rewinds as dashed lines labelled at the foot, and the story's current time as a solid line."""
    across = ax.get_xaxis_transform()
    if plan.rewind_minutes:
        many = len(plan.rewind_minutes) > 50
        ax.vlines(plan.rewind_minutes, 0, 1, transform=across, colors=REWIND_COLOUR, linestyles="dashed",
                  linewidth=0.6 if many else 1.2, alpha=0.5 if many else 1.0, zorder=6)
    for mark in plan.rewind_labels:
        ax.text(mark.x, 0.015, mark.text, transform=across, rotation=90, ha="left", va="bottom",
                fontsize=SIDE_PT, color=REWIND_COLOUR, zorder=6, parse_math=False)
    ax.axvline(plan.now, color=NOW_COLOUR, linewidth=2, zorder=7)
    share = (plan.now - plan.start) / (plan.end - plan.start)
    align = "right" if share > 0.85 else "left" if share < 0.15 else "center"
    ax.text(plan.now, 1.01, plan.now_label, transform=across, ha=align, va="bottom", fontsize=10,
            color=NOW_COLOUR, fontweight="bold", clip_on=False, parse_math=False)


def _draw_key(fig: Figure) -> None:
    handles = [
        Patch(facecolor=_lane_colour(0), label="scene"),
        Patch(facecolor="white", edgecolor=_lane_colour(0), hatch="///", label="open scene"),
        Patch(facecolor=SKIP_COLOUR, alpha=0.55, label="time skip"),
        Line2D([], [], marker="D", ls="", color=MEANWHILE_COLOUR, label="meanwhile"),
        Line2D([], [], color=REWIND_COLOUR, ls="--", label="rewind"),
        Line2D([], [], color=NOW_COLOUR, lw=2, label="now"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False, fontsize=9,
               labelcolor=MUTED, bbox_to_anchor=(0.5, 0.0))
