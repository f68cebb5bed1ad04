"""Values as report.html shows them: escaped, whatever they hold, and figures in words.

Both renderers of the page (`replayer.page` and `replayer.pagesections`) put every
value of a document through `escaped`: a certification may come from anywhere, and
the difference may be an invisible character.
"""

from __future__ import annotations

import html
import json
from typing import Any

from parity.terminal import printable

__all__ = [
    "as_count",
    "distance_html",
    "escaped",
    "escaped_json",
    "example_html",
    "is_number",
    "ms",
    "number",
    "percent",
    "ratio",
]


def escaped(value: Any) -> str:
    """Any value of a document, as escaped page text; characters that are invisible or
    that reorder text shown as escapes (the difference may be one of them)."""
    return html.escape(printable(str(value), keep="\n\t"))


def escaped_json(value: Any) -> str:
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    )
    return escaped(text)


# Figures as plain text (escaped where they are put on the page, like any other value).


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def percent(rate: Any) -> str:
    if rate is None:
        return "-"
    return f"{100 * rate:.1f}%" if is_number(rate) else str(rate)


def number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:.6g}"
    return str(value)


def ms(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} ms" if is_number(value) and value < 1e5 else f"{number(value)} ms"


def ratio(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}x" if is_number(value) else str(value)


def as_count(value: Any) -> int:
    """A count for ordering, whatever a crafted document holds in its place."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def distance_html(numeric: dict[str, Any] | None) -> str:
    if not numeric:
        return ""
    return escaped(
        f"up to {number(numeric['max_abs'])} apart, median "
        f"{number(numeric['median_abs'])} ({numeric['differences']} numbers)"
    )


def example_html(example: dict[str, Any] | None) -> str:
    if not example:
        return ""
    return (
        f'<span class="exp">{escaped_json(example.get("expected"))}</span> &rarr; '
        f'<span class="act">{escaped_json(example.get("actual"))}</span>'
    )
