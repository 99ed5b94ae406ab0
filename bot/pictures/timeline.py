"""The story timeline: scenes per place, time skips, meanwhile scenes and rewinds along in-story time.

`plan_timeline` decides, from the data alone, what goes where and which labels fit; `draw_timeline` only draws
that plan. So `timeline_labels` is exactly the set of texts the picture carries.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bot.pictures.canvas import CHAR_WIDTH, clip, pt_to_px, text_width_px, thin
from engine import format_clock

MINUTES_PER_DAY = 24 * 60
EMPTY_MESSAGE = "Nothing has happened in this story yet"
MEANWHILE_LANE = "meanwhile"
MAX_PLACE_LANES = 16  # more places than this: the busiest 15 keep a lane, the rest share "other places"
PLACE_CHARS = 26
SCENE_CHARS = 40
SUMMARY_CHARS = 30
PEOPLE_CHARS = 30
MAX_SCENE_LABELS = 150
MAX_SKIP_LABELS = 30
MAX_MEANWHILE_LABELS = 80
MAX_REWIND_LABELS = 20
MIN_SPAN = 60  # minutes: a story that happened within one minute still gets an hour of axis
TICK_TARGET = 8
TICK_STEPS = (10, 15, 30, 60, 120, 180, 360, 720, MINUTES_PER_DAY, 2 * MINUTES_PER_DAY, 7 * MINUTES_PER_DAY,
              14 * MINUTES_PER_DAY, 30 * MINUTES_PER_DAY, 90 * MINUTES_PER_DAY, 365 * MINUTES_PER_DAY)
SIDE_PT = 8.0  # font of skip, meanwhile and rewind labels
SIDE_GAP_PX = 16.0  # least room between two upright labels
BAR_HEIGHT = 0.7  # of a lane

# Pixel geometry: lane names on the left, the plot, tick labels and the key below it.
PLOT_BOX = (210.0, 95.0, 960.0, 615.0)


@dataclass(frozen=True, slots=True)
class TimelineScene:
    """A scene at a place, from the story minute it opened to the one it closed (None: still open)."""

    title: str
    place: str
    opened_minute: int
    closed_minute: int | None = None


@dataclass(frozen=True, slots=True)
class TimelineSkip:
    """In-story time jumped from one minute to another; the summary says what was skipped."""

    from_minute: int
    to_minute: int
    summary: str


@dataclass(frozen=True, slots=True)
class TimelineMeanwhile:
    """An off-screen scene at a story minute, with who took part and its premise."""

    minute: int
    participants: tuple[str, ...]
    premise: str = ""


@dataclass(frozen=True, slots=True)
class TimelineRewind:
    """An admin rewound the story at this story minute, undoing some events."""

    minute: int
    events_undone: int


@dataclass(frozen=True, slots=True)
class Timeline:
    """Everything the timeline draws; minutes count from the story's Day 1, 00:00."""

    title: str
    now_minute: int
    scenes: tuple[TimelineScene, ...] = ()
    skips: tuple[TimelineSkip, ...] = ()
    meanwhiles: tuple[TimelineMeanwhile, ...] = ()
    rewinds: tuple[TimelineRewind, ...] = ()

    @property
    def empty(self) -> bool:
        """True when there is nothing to draw but the clock."""
        return not (self.scenes or self.skips or self.meanwhiles or self.rewinds)


@dataclass(frozen=True, slots=True)
class Bar:
    """A scene's bar: lane (0 is the top), start and end minute, and whether it is still open."""

    lane: int
    start: float
    end: float
    open: bool


@dataclass(frozen=True, slots=True)
class Mark:
    """A placed text: x in story minutes, y in lanes (or a row for side labels), and the text."""

    x: float
    y: float
    text: str


@dataclass(frozen=True, slots=True)
class TimelinePlan:
    """What the timeline picture shows, and where, decided before anything is drawn."""

    title: str
    start: float
    end: float
    now: int
    now_label: str
    ticks: tuple[Mark, ...]
    lanes: tuple[str, ...]
    meanwhile_lane: int | None
    bars: tuple[Bar, ...]
    scene_pt: float
    scene_labels: tuple[Mark, ...]
    skips: tuple[tuple[float, float], ...]
    skip_labels: tuple[Mark, ...]
    meanwhile_minutes: tuple[int, ...]
    meanwhile_labels: tuple[Mark, ...]
    rewind_minutes: tuple[int, ...]
    rewind_labels: tuple[Mark, ...]

    @property
    def px_per_minute(self) -> float:
        """Horizontal scale of the plot."""
        return PLOT_BOX[2] / (self.end - self.start)

    @property
    def lane_px(self) -> float:
        """Height of one lane in pixels."""
        return PLOT_BOX[3] / max(len(self.lanes), 1)

    @property
    def lane_pt(self) -> float:
        """Font size of the lane names."""
        return max(5.0, min(10.0, self.lane_px / 2.6))

    def texts(self) -> tuple[str, ...]:
        """Every data-derived text the picture draws, in drawing order."""
        marks = (*self.scene_labels, *self.skip_labels, *self.meanwhile_labels, *self.rewind_labels)
        return (self.title, *self.lanes, *(m.text for m in marks), self.now_label, *(t.text for t in self.ticks))


def timeline_title(data: Timeline) -> str:
    """The title drawn on the timeline."""
    return f"{clip(data.title, 60)} — timeline"


def timeline_labels(data: Timeline) -> tuple[str, ...]:
    """The data-derived texts the timeline draws (title, lanes, labels, now, ticks), or the empty message."""
    if data.empty:
        return (timeline_title(data), EMPTY_MESSAGE)
    return plan_timeline(data).texts()


def plan_timeline(data: Timeline) -> TimelinePlan:
    """Where everything goes and which labels fit, from the data alone (pure, no matplotlib)."""
    start, end = _x_range(data)
    scale = PLOT_BOX[2] / (end - start)
    lanes, lane_of, meanwhile_lane = _lanes(data)
    bars = tuple(Bar(lane_of[s.place], s.opened_minute, _closed(s, data.now_minute), s.closed_minute is None)
                 for s in _ordered_scenes(data))
    lane_px = PLOT_BOX[3] / max(len(lanes), 1)
    scene_pt = max(5.0, min(9.0, lane_px * BAR_HEIGHT / 2.2 / pt_to_px(1)))
    skips = tuple((min(k.from_minute, k.to_minute), max(k.from_minute, k.to_minute)) for k in data.skips)
    return TimelinePlan(
        title=timeline_title(data), start=start, end=end, now=data.now_minute,
        now_label=f"now · {format_clock(data.now_minute)}", ticks=_ticks(start, end), lanes=lanes,
        meanwhile_lane=meanwhile_lane, bars=bars, scene_pt=scene_pt,
        scene_labels=_scene_labels(data, bars, scale, scene_pt, end),
        skips=skips, skip_labels=_skip_labels(data, scale),
        meanwhile_minutes=tuple(m.minute for m in data.meanwhiles),
        meanwhile_labels=_meanwhile_labels(data, scale, start),
        rewind_minutes=tuple(r.minute for r in data.rewinds), rewind_labels=_rewind_labels(data, scale),
    )


def _closed(scene: TimelineScene, now: int) -> int:
    end = now if scene.closed_minute is None else scene.closed_minute
    return max(end, scene.opened_minute)


def _ordered_scenes(data: Timeline) -> list[TimelineScene]:
    return sorted(data.scenes, key=lambda s: s.opened_minute)  # stable: ties keep the caller's order


def _x_range(data: Timeline) -> tuple[float, float]:
    """The minutes the axis spans: every item and now, with a little room on both sides."""
    points = [data.now_minute]
    points += [m for s in data.scenes for m in (s.opened_minute, _closed(s, data.now_minute))]
    points += [m for k in data.skips for m in (k.from_minute, k.to_minute)]
    points += [m.minute for m in data.meanwhiles] + [r.minute for r in data.rewinds]
    low: float = min(points)
    high: float = max(points)
    if high - low < MIN_SPAN:
        middle = (low + high) / 2
        low, high = middle - MIN_SPAN / 2, middle + MIN_SPAN / 2
    pad = (high - low) * 0.03
    return low - pad, high + pad


def _lanes(data: Timeline) -> tuple[tuple[str, ...], dict[str, int], int | None]:
    """Lane names top to bottom, each place's lane, and the meanwhile lane (on top) if there is one."""
    first: dict[str, int] = {}
    for position, scene in enumerate(_ordered_scenes(data)):
        first.setdefault(scene.place, position)
    places = list(first)
    top = [MEANWHILE_LANE] if data.meanwhiles else []
    if len(places) <= MAX_PLACE_LANES:
        kept, rest = places, []
    else:
        counts = Counter(s.place for s in data.scenes)
        busiest = sorted(places, key=lambda p: (-counts[p], first[p]))[: MAX_PLACE_LANES - 1]
        kept = sorted(busiest, key=first.__getitem__)
        rest = [p for p in places if p not in set(busiest)]
    names = top + [clip(p, PLACE_CHARS) for p in kept] + ([f"other places ({len(rest)})"] if rest else [])
    lane_of = {place: len(top) + i for i, place in enumerate(kept)}
    lane_of.update({place: len(names) - 1 for place in rest})
    return tuple(names), lane_of, 0 if top else None


def _ticks(start: float, end: float) -> tuple[Mark, ...]:
    """Round story times along the axis: 'Day N' with the hour when steps are shorter than a day."""
    span = end - start
    step = next((s for s in TICK_STEPS if span / s <= TICK_TARGET), None)
    if step is None:
        step = -(-int(span / TICK_TARGET) // MINUTES_PER_DAY) * MINUTES_PER_DAY
    first = max(0, -(-int(start) // step) * step)
    marks = []
    for minute in range(first, int(end) + 1, step):
        day, clock = format_clock(minute).split(", ")
        marks.append(Mark(minute, 0, day if step % MINUTES_PER_DAY == 0 else f"{day}\n{clock}"))
    return tuple(marks)


def _label_room(bars: tuple[Bar, ...], end: float) -> list[float]:
    """Per bar (in start order), the minutes from its start to the next bar's start in its lane (or the end)."""
    room = [0.0] * len(bars)
    following: dict[int, float] = {}
    for index in range(len(bars) - 1, -1, -1):
        bar = bars[index]
        room[index] = following.get(bar.lane, end) - bar.start
        following[bar.lane] = bar.start
    return room


def _scene_labels(data: Timeline, bars: tuple[Bar, ...], scale: float, font_pt: float,
                  end: float) -> tuple[Mark, ...]:
    """Scene titles from each bar's start, running on until the next bar in the lane; the roomiest first, capped."""
    char_px = pt_to_px(font_pt) * CHAR_WIDTH
    fitting = []
    for index, (scene, room) in enumerate(zip(_ordered_scenes(data), _label_room(bars, end), strict=True)):
        chars = min(int((room * scale - 8) / char_px), SCENE_CHARS)
        if chars >= 4 and scene.title.strip():
            fitting.append((-chars, index, Mark(bars[index].start, bars[index].lane, clip(scene.title, chars))))
    chosen = sorted(fitting)[:MAX_SCENE_LABELS]
    return tuple(mark for _, _, mark in sorted(chosen, key=lambda item: item[1]))


def _skip_labels(data: Timeline, scale: float) -> tuple[Mark, ...]:
    """Skip summaries, written upright in their span; crowded ones are left out."""
    line_px = pt_to_px(SIDE_PT) * 1.3
    items = []
    for skip in data.skips:
        summary = clip(skip.summary, SUMMARY_CHARS)
        if summary:
            x = (skip.from_minute + skip.to_minute) / 2
            items.append((x * scale - line_px / 2, line_px, Mark(x, 0, summary)))
    return tuple(thin(items, gap=SIDE_GAP_PX, limit=MAX_SKIP_LABELS))


def _meanwhile_labels(data: Timeline, scale: float, start: float) -> tuple[Mark, ...]:
    """Who was in each meanwhile scene, alternating above (row 0) and below (row 1) the markers."""
    rows_right = [float("-inf"), float("-inf")]
    marks: list[Mark] = []
    for meanwhile in sorted(data.meanwhiles, key=lambda m: m.minute):
        text = clip(", ".join(meanwhile.participants) or meanwhile.premise, PEOPLE_CHARS)
        if not text:
            continue
        width = text_width_px(text, SIDE_PT)
        left = (meanwhile.minute - start) * scale - width / 2
        row = next((r for r in (0, 1) if left >= rows_right[r] + 6), None)
        if row is not None:
            rows_right[row] = left + width
            marks.append(Mark(meanwhile.minute, row, text))
            if len(marks) >= MAX_MEANWHILE_LABELS:
                break
    return tuple(marks)


def rewind_label(rewind: TimelineRewind) -> str:
    """The text next to a rewind's line."""
    undone = rewind.events_undone
    return f"rewind ({undone} event{'' if undone == 1 else 's'} undone)"


def _rewind_labels(data: Timeline, scale: float) -> tuple[Mark, ...]:
    line_px = pt_to_px(SIDE_PT) * 1.3
    items = [(r.minute * scale, line_px, Mark(r.minute, 0, rewind_label(r))) for r in data.rewinds]
    return tuple(thin(items, gap=SIDE_GAP_PX, limit=MAX_REWIND_LABELS))
