"""Bar charts as inline SVG, drawn on the server: no script, no external file, no CDN.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a text description, so a screen
reader says what it shows; bars carry their value as text too. Pure string building.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

GOOD, FAIR, POOR, TRACK, INK = "#1b7f3b", "#c98a00", "#b3261e", "#e3e6ea", "#1f2328"
SERIES = ("#1f5fa8", "#7a9cc6")


def tone(rate: float | None) -> str:
    """Green from 90 %, amber from 70 %, red below: read at a glance."""
    if rate is None:
        return TRACK
    return GOOD if rate >= 0.9 else FAIR if rate >= 0.7 else POOR


def percent(rate: float | None) -> str:
    return "–" if rate is None else f"{100 * rate:.1f}%".replace(".", ",")


@dataclass(frozen=True)
class Bar:
    """One labelled bar: ``values`` (0–1, or None: no data) per series."""

    label: str
    values: tuple[float | None, ...]


def _open(width: int, height: int, title: str, description: str) -> str:
    return (f'<svg role="img" viewBox="0 0 {width} {height}" width="100%" '
            f'style="max-width:{width}px" aria-label="{escape(title)}">'
            f"<title>{escape(title)}</title><desc>{escape(description)}</desc>")


def columns(bars: Sequence[Bar], *, title: str, description: str) -> str:
    """Vertical bars on a 0–100 % axis (one series, coloured by :func:`tone`)."""
    left, top, plot_h, step = 44, 16, 160, 64
    width = left + max(len(bars), 1) * step + 16
    height = top + plot_h + 40
    out = [_open(width, height, title, description)]
    for tick in (0, 25, 50, 75, 100):
        y = top + plot_h - plot_h * tick / 100
        out.append(f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="{TRACK}"/><text x="{left - 6}" y="{y + 4:.1f}" font-size="11" '
                   f'text-anchor="end" fill="{INK}">{tick}%</text>')
    for n, bar in enumerate(bars):
        rate = bar.values[0]
        x = left + n * step + 12
        h = plot_h * (rate or 0.0)
        out.append(f'<rect x="{x}" y="{top + plot_h - h:.1f}" width="{step - 24}" '
                   f'height="{h:.1f}" fill="{tone(rate)}"><title>{escape(bar.label)}: '
                   f"{percent(rate)}</title></rect>")
        out.append(f'<text x="{x + (step - 24) / 2:.1f}" y="{top + plot_h - h - 4:.1f}" '
                   f'font-size="11" text-anchor="middle" fill="{INK}">{percent(rate)}</text>')
        out.append(f'<text x="{x + (step - 24) / 2:.1f}" y="{top + plot_h + 16}" '
                   f'font-size="11" text-anchor="middle" fill="{INK}">'
                   f"{escape(bar.label)}</text>")
    out.append("</svg>")
    return "".join(out)


def rows(bars: Sequence[Bar], *, title: str, description: str, legend: Sequence[str] = (),
         scale: Sequence[float] | None = None, unit: str = "%") -> str:
    """Horizontal bars, one row per bar and one bar per series in it, over a grey track of
    the full length; ``scale`` gives each row's full value (points) when not 100 %."""
    label_w, plot_w, bar_h, gap = 230, 300, 14, 10
    series = max((len(b.values) for b in bars), default=1)
    row_h = series * bar_h + gap
    top = 8 + (18 if legend else 0)
    width, height = label_w + plot_w + 90, top + max(len(bars), 1) * row_h + 8
    out = [_open(width, height, title, description)]
    for n, name in enumerate(legend):
        x = label_w + n * 150
        out.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{SERIES[n % 2]}"/>'
                   f'<text x="{x + 16}" y="14" font-size="11" fill="{INK}">'
                   f"{escape(name)}</text>")
    for n, bar in enumerate(bars):
        y = top + n * row_h
        out.append(f'<text x="{label_w - 8}" y="{y + series * bar_h / 2 + 4:.1f}" '
                   f'font-size="12" text-anchor="end" fill="{INK}">'
                   f"{escape(_short(bar.label))}<title>{escape(bar.label)}</title></text>")
        full = scale[n] if scale is not None else 1.0
        for s, value in enumerate(bar.values):
            by = y + s * bar_h
            fill = SERIES[s % 2] if len(bar.values) > 1 or legend else tone(
                None if value is None else value / full)
            w = plot_w * ((value or 0.0) / full if full else 0.0)
            shown = percent(value) if unit == "%" else (
                "–" if value is None else f"{value:.1f}/{full:g}".replace(".", ","))
            out.append(f'<rect x="{label_w}" y="{by}" width="{plot_w}" height="{bar_h - 2}" '
                       f'fill="{TRACK}"/><rect x="{label_w}" y="{by}" width="{w:.1f}" '
                       f'height="{bar_h - 2}" fill="{fill}"/><text x="{label_w + plot_w + 6}" '
                       f'y="{by + bar_h - 4}" font-size="11" fill="{INK}">{shown}</text>')
    out.append("</svg>")
    return "".join(out)


def _short(label: str, limit: int = 30) -> str:
    return label if len(label) <= limit else label[:limit - 1] + "…"
