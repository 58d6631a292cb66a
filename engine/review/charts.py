"""Inline SVG charts for the HTML review, drawn here so the page needs nothing from a network:
health by stage (deals per health band, stacked) and the most frequent red flags."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

from dealcoach.engine.render.templating import display_width

BANDS = ("0-19", "20-39", "40-59", "60-79", "80-100")
COLOURS = ("#b2182b", "#ef8a62", "#f7d774", "#a6d96a", "#1a9641")
ROW = 26
LABEL = 184
LABEL_COLUMNS = 24  # terminal-style columns of a label at 12px that fit in LABEL pixels
WIDTH = 620


def health_by_stage(rows: list[tuple[str, list[int]]], title: str) -> Markup:
    """One horizontal bar per stage, split into health bands, each labelled with its count."""
    height = ROW * len(rows) + 50
    most = max((sum(counts) for _, counts in rows), default=0) or 1
    scale = (WIDTH - LABEL - 40) / most
    parts = [_open(height, title)]
    for index, (stage, counts) in enumerate(rows):
        y = 10 + index * ROW
        parts.append(_label(stage, y))
        x = float(LABEL)
        for band, count in enumerate(counts):
            if count:
                width = count * scale
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{ROW - 6}" fill="{COLOURS[band]}">'
                    f"<title>{escape(stage)} {BANDS[band]}: {count}</title></rect>"
                )
                parts.append(f'<text x="{x + width / 2:.1f}" y="{y + 15}" text-anchor="middle">{count}</text>')
                x += width
    legend_y = 10 + len(rows) * ROW + 10
    for band, colour in enumerate(COLOURS):
        x = LABEL + band * 80
        parts.append(f'<rect x="{x}" y="{legend_y}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="{legend_y + 11}">{BANDS[band]}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def frequent_flags(rows: list[tuple[str, int]], title: str) -> Markup:
    """One bar per red flag, longest first, with the number of deals it appears in."""
    height = ROW * len(rows) + 20
    most = max((count for _, count in rows), default=0) or 1
    scale = (WIDTH - LABEL - 50) / most
    parts = [_open(height, title)]
    for index, (label, count) in enumerate(rows):
        y = 10 + index * ROW
        parts.append(_label(label, y))
        parts.append(f'<rect x="{LABEL}" y="{y}" width="{count * scale:.1f}" height="{ROW - 6}" fill="#b2182b"/>')
        parts.append(f'<text x="{LABEL + count * scale + 6:.1f}" y="{y + 15}">{count}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _open(height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" font-size="12"><title>{escape(title)}</title>'
    )


def _label(text: str, y: int) -> str:
    """The label left of a bar, cut to what fits in LABEL pixels (a Chinese character is as wide as
    two Latin ones); the whole text is its tooltip."""
    short = text
    while display_width(short) > LABEL_COLUMNS:
        short = short[:-2] + "…"
    return f'<text x="{LABEL - 8}" y="{y + 15}" text-anchor="end"><title>{escape(text)}</title>{escape(short)}</text>'
