"""Shared drawing pieces: the fixed picture size, a private Agg figure, PNG output, clipping and thinning."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterable
from typing import TypeVar

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

WIDTH_PX = 1200
HEIGHT_PX = 800
DPI = 100
BACKGROUND = "#ffffff"
INK = "#222222"
MUTED = "#6b6b6b"
TITLE_PT = 16
CHAR_WIDTH = 0.6  # average glyph width of DejaVu Sans, as a fraction of the font size

T = TypeVar("T")


def clip(text: str, limit: int) -> str:
    """The text on one line, at most `limit` characters, ending in '…' when cut."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[: max(limit - 1, 0)].rstrip() + "…"


def pt_to_px(points: float) -> float:
    """Typographic points → pixels at the pictures' resolution."""
    return points * DPI / 72


def text_width_px(text: str, font_pt: float) -> float:
    """An estimate of how wide a line of text is drawn, in pixels."""
    return len(text) * pt_to_px(font_pt) * CHAR_WIDTH


def new_figure() -> Figure:
    """A WIDTH_PX × HEIGHT_PX figure on its own Agg canvas (no pyplot, so safe in worker threads)."""
    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor=BACKGROUND)
    FigureCanvasAgg(fig)
    return fig


def axes_px(fig: Figure, left: float, bottom: float, width: float, height: float) -> Axes:
    """Axes placed by pixel coordinates (origin at the bottom left), so geometry is known before drawing."""
    return fig.add_axes((left / WIDTH_PX, bottom / HEIGHT_PX, width / WIDTH_PX, height / HEIGHT_PX))


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes of exactly WIDTH_PX × HEIGHT_PX, with no version stamp."""
    buffer = io.BytesIO()
    # A name in a script the font lacks is drawn as boxes, not warned per glyph. (catch_warnings swaps a global
    # list, so two threads rendering at once may leave this one filter installed for good: the wanted effect.)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
        fig.savefig(buffer, format="png", dpi=DPI, facecolor=BACKGROUND, metadata={"Software": None})
    return buffer.getvalue()


def draw_title(fig: Figure, title: str) -> None:
    """The picture's title, centred along the top."""
    fig.text(0.5, 1 - 28 / HEIGHT_PX, title, ha="center", va="center", fontsize=TITLE_PT,
             fontweight="bold", color=INK, parse_math=False)


def draw_placeholder(fig: Figure, title: str, message: str) -> None:
    """A picture that says there is nothing to draw yet."""
    draw_title(fig, title)
    fig.text(0.5, 0.5, message, ha="center", va="center", fontsize=22, color=MUTED, parse_math=False)


def texts_of(fig: Figure) -> list[str]:
    """Every non-empty text the figure draws (titles, labels, tick labels), for tests and labels checks."""
    fig.canvas.draw()
    return [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


def thin(items: Iterable[tuple[float, float, T]], gap: float = 4.0, limit: int | None = None) -> list[T]:
    """Keep items (start px, width px, value), left to right, that do not overlap a kept one."""
    kept: list[T] = []
    right = float("-inf")
    for start, width, value in sorted(items, key=lambda item: item[0]):
        if start >= right + gap:
            kept.append(value)
            right = start + width
            if limit is not None and len(kept) >= limit:
                break
    return kept

