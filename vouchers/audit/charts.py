"""Charts drawn on the server as SVG: no script, nothing fetched, readable without colour (each bar is
labelled with its amount), and always shown beside the table it is drawn from."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from hrdnet.timeutil import format_won

WIDTH, LABEL_WIDTH, ROW, BAR = 720, 220, 28, 18
SERIES = (
    ("card_draw", "카드 사용", "#256ef4"),
    ("funded", "예산 지원", "#00a37a"),
    ("self_pay", "자비부담", "#f2a100"),
)


def stacked_bars(chart_id: str, title: str, rows: Sequence[tuple[str, dict[str, int]]], *, limit: int = 15) -> Markup:
    """Horizontal bars, one per row, stacked by SERIES (money that reached providers, by where it came from).
    Rows beyond `limit` are left to the table."""
    rows = list(rows)[:limit]
    peak = max((sum(max(v.get(k, 0), 0) for k, _, _ in SERIES) for _, v in rows), default=0) or 1
    scale = (WIDTH - LABEL_WIDTH - 120) / peak
    height = ROW * len(rows) + 40
    parts = [
        f'<svg class="audit-chart" role="img" aria-labelledby="{chart_id}-title" viewBox="0 0 {WIDTH} {height}"'
        f' width="100%" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    for i, (label, values) in enumerate(rows):
        y = 10 + i * ROW
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR - 4}" text-anchor="end" font-size="13">{escape(_cut(label))}</text>'
        )
        x = LABEL_WIDTH
        for key, name, colour in SERIES:
            amount = max(values.get(key, 0), 0)
            if amount:
                width = max(amount * scale, 1)
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{BAR}" fill="{colour}">'
                    f"<title>{escape(label)} {name} {format_won(amount)}</title></rect>"
                )
                x += width
        total = sum(max(values.get(k, 0), 0) for k, _, _ in SERIES)
        parts.append(f'<text x="{x + 6:.1f}" y="{y + BAR - 4}" font-size="12">{format_won(total)}</text>')
    legend_y = height - 12
    for i, (_, name, colour) in enumerate(SERIES):
        parts.append(f'<rect x="{LABEL_WIDTH + i * 110}" y="{legend_y - 10}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{LABEL_WIDTH + i * 110 + 16}" y="{legend_y}" font-size="12">{name}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _cut(label: str, size: int = 18) -> str:
    return label if len(label) <= size else label[: size - 1] + "…"
