"""Charts as server-side SVG: no script, nothing for the CSP to allow, and the numbers are the
report's own (every chart is drawn beside the table it comes from). Colours come from CSS."""
from __future__ import annotations

from markupsafe import Markup, escape


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10


def columns(points: list[tuple[str, float]], *, label: str, width: int = 640, height: int = 220) -> Markup:
    """A column chart of (label, value) points, e.g. insertions per day."""
    left, bottom, top, right = 36, 28, 10, 8
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max((v for _, v in points), default=0))
    slot = plot_w / max(len(points), 1)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>']
    for tick in (0, top_value / 2, top_value):
        y = top + plot_h - plot_h * tick / top_value
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text class="axis" x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{tick:g}</text>')
    every = max(1, round(len(points) / 8))  # at most ~8 labels on the x axis
    for i, (name, value) in enumerate(points):
        h = plot_h * value / top_value
        x = left + i * slot + slot * 0.15
        parts.append(f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{slot * 0.7:.1f}" '
                     f'height="{h:.1f}"><title>{escape(name)}: {value:g}</title></rect>')
        if i % every == 0:
            parts.append(f'<text class="axis" x="{x + slot * 0.35:.1f}" y="{height - 8}" '
                         f'text-anchor="middle">{escape(name[5:] if len(name) == 10 else name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bars(items: list[tuple[str, float, float]], *, label: str, names: tuple[str, str],
         width: int = 1000, label_width: int = 380) -> Markup:
    """Horizontal bars of (label, value, total): ``total`` light behind ``value`` dark
    (e.g. inserted out of shown, issued out of a limit)."""
    row, left, right, top = 24, label_width, 70, 22
    height = top + row * max(len(items), 1) + 6
    plot_w = width - left - right
    top_value = _nice_max(max((max(v, t) for _, v, t in items), default=0))
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>',
             f'<rect class="bar total" x="{left}" y="4" width="10" height="10"/>'
             f'<text class="axis" x="{left + 14}" y="13">{escape(names[1])}</text>'
             f'<rect class="bar" x="{left + 180}" y="4" width="10" height="10"/>'
             f'<text class="axis" x="{left + 194}" y="13">{escape(names[0])}</text>']
    for i, (name, value, total) in enumerate(items):
        y = top + i * row
        fits = label_width // 7  # characters that fit at 11px
        short = name if len(name) <= fits else name[:fits - 1] + "…"
        parts.append(f'<text class="label" x="{left - 6}" y="{y + 15}" text-anchor="end">{escape(short)}'
                     f'<title>{escape(name)}</title></text>')
        parts.append(f'<rect class="bar total" x="{left}" y="{y + 3}" width="{plot_w * total / top_value:.1f}" '
                     f'height="{row - 8}"><title>{escape(names[1])}: {total:g}</title></rect>')
        parts.append(f'<rect class="bar" x="{left}" y="{y + 3}" width="{plot_w * value / top_value:.1f}" '
                     f'height="{row - 8}"><title>{escape(names[0])}: {value:g}</title></rect>')
        parts.append(f'<text class="axis" x="{left + plot_w * max(value, total) / top_value + 4:.1f}" '
                     f'y="{y + 15}">{value:g} / {total:g}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
