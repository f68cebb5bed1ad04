"""report.html: one self-contained page a release manager reads and signs off.

Built from certification.json alone (so `parity report` renders the same page
from a file), in plain words, with no external resources:

- the verdict first, then every endpoint in a table, riskiest first, each row
  linking to its section (``#ep-get-api-users-id-1a2b3c``: stable across
  runs, usable in a URL);
- the fields that differ across all endpoints (``$.items[*].percent``), with
  how many exchanges differ there, an example and, for numbers, how far apart;
- per endpoint: its counts and answer times, the fields that differ, and its
  mismatches grouped by kind, one example of each (its differences, what was
  not counted, both bodies side by side, and the commands that reproduce it);
- what noise and normalisation rules absorbed, apart and in another colour.

Every value is escaped, whatever the document holds: a certification may come
from anywhere, and the difference may be an invisible character.
"""

from __future__ import annotations

from typing import Any, Final

from replayer.pagesections import anchor, endpoint_section
from replayer.pagetext import (
    as_count,
    distance_html,
    escaped,
    example_html,
    ms,
    percent,
    ratio,
)

__all__ = ["render_html"]

#: Fields listed across the run; the rest are counted.
_RUN_FIELDS_SHOWN: Final = 50
_RISK: Final = {"failed": 0, "slower": 1, "insufficient samples": 2, "skipped": 3, "certified": 4}


def _verdict_line(document: dict[str, Any]) -> tuple[str, str]:
    """The page's headline, in words, and its class."""
    summary = {name: as_count(count) for name, count in document["summary"].items()}
    total = sum(summary.values())
    failed, slower = summary.get("failed", 0), summary.get("slower", 0)
    insufficient = summary.get("insufficient samples", 0)
    if failed or slower:
        parts = [f"{failed} of {total} endpoints answer differently"] if failed else []
        if slower:
            parts.append(f"{slower} answer more slowly than the latency budget allows")
        return "Not certified: " + " and ".join(parts) + ".", "bad"
    if insufficient:
        return (
            f"Not yet certified: {insufficient} of {total} endpoints had too few exchanges "
            "to decide.",
            "unsure",
        )
    certified = summary.get("certified", 0)
    if not certified:
        return "Nothing was certified: no endpoint was replayed.", "unsure"
    skipped = summary.get("skipped", 0)
    rest = f" ({skipped} skipped: not replayed)" if skipped else ""
    headline = f"Certified: all {certified} replayed endpoints answer as the monolith does"
    return f"{headline}{rest}.", "good"


def render_html(document: dict[str, Any], live: dict[str, Any] | None = None) -> str:
    """The page for `document` (certification.json's content); `live` (the side-by-side
    gateway's live.json) adds its scoreboard."""
    endpoints = sorted(document["endpoints"], key=_riskiest_first)
    headline, mood = _verdict_line(document)
    counts = ", ".join(f"{count} {name}" for name, count in document["summary"].items() if count)
    return _PAGE.format(
        title=escaped(f"Parity certification: {document['target']}"),
        headline=escaped(headline),
        mood=mood,
        store=escaped(document["store"]),
        target=escaped(document["target"]),
        generated=escaped(document["generated_at"]),
        counts=escaped(counts or "no endpoints"),
        rows="\n".join(_row(endpoint) for endpoint in endpoints),
        fields=_run_fields(document.get("fields", []), endpoints),
        live=_live(live) if live is not None else "",
        sections="\n".join(endpoint_section(endpoint) for endpoint in endpoints),
    )


def _riskiest_first(endpoint: dict[str, Any]) -> tuple[int, int, str]:
    """Failed, slower, insufficient, skipped, certified; the most mismatches first."""
    trouble = as_count(endpoint["mismatched"]) + as_count(endpoint["error"])
    return _RISK.get(str(endpoint["verdict"]), 5), -trouble, str(endpoint["endpoint"])


def _row(endpoint: dict[str, Any]) -> str:
    name = str(endpoint["endpoint"])
    verdict = str(endpoint["verdict"])
    fields = endpoint.get("fields", [])[:2]
    differing = "; ".join(
        f"<code>{escaped(f['path'])}</code> in {escaped(f['exchanges'])}" for f in fields
    )
    latency = endpoint.get("latency") or {}
    p99 = "-"
    if latency and (latency["monolith_ms"]["count"] or latency["candidate_ms"]["count"]):
        p99 = (
            escaped(f"{ms(latency['monolith_ms']['p99'])} / {ms(latency['candidate_ms']['p99'])}")
            + f"<br><small>{escaped(ratio(latency['p99_ratio']))}</small>"
        )
    blind = (endpoint.get("blind") or {}).get("values") if endpoint.get("verdict_note") else 0
    shown = escaped(verdict) + (
        f'<br><small class="hint">{escaped(blind)} value(s) not comparable</small>' if blind else ""
    )
    return (
        f'<tr class="v-{escaped(verdict.replace(" ", "-"))}" data-name="{escaped(name)}">'
        f'<td><a href="#{anchor(name)}">{escaped(name)}</a></td><td class="verdict">{shown}</td>'
        f"<td>{escaped(endpoint['replayed'])}</td><td>{escaped(endpoint['matched'])}</td>"
        f"<td>{escaped(endpoint['mismatched'])}</td><td>{escaped(endpoint['error'])}</td>"
        f"<td>{escaped(endpoint['skipped'])}</td>"
        f"<td>{escaped(percent(endpoint['match_rate']))}</td>"
        f"<td>{p99}</td><td>{differing}</td></tr>"
    )


def _run_fields(fields: list[dict[str, Any]], endpoints: list[dict[str, Any]]) -> str:
    if not fields:
        return "<p>No field differs on any endpoint.</p>"
    rows = []
    for entry in fields[:_RUN_FIELDS_SHOWN]:
        names = entry.get("endpoints", [])
        links = ", ".join(f'<a href="#{anchor(str(n))}">{escaped(n)}</a>' for n in names[:5])
        if len(names) > 5:
            links += f" and {len(names) - 5} more"
        rows.append(
            f"<tr><td><code>{escaped(entry['path'])}</code></td><td>{links}</td>"
            f"<td>{escaped(entry['exchanges'])} of {escaped(entry['compared'])}</td>"
            f"<td>{escaped(percent(entry['rate']))}</td>"
            f"<td>{example_html(entry.get('example'))}</td>"
            f"<td>{distance_html(entry.get('numeric'))}</td></tr>"
        )
    more = len(fields) - _RUN_FIELDS_SHOWN
    tail = f"<p>... and {more} more field(s) in certification.json.</p>" if more > 0 else ""
    return (
        '<table id="fields-table"><tr><th>field</th><th>endpoints</th>'
        "<th>exchanges that differ there</th><th>share</th><th>example: monolith &rarr; "
        "candidate</th><th>numbers</th></tr>" + "".join(rows) + "</table>" + tail
    )


def _live(live: dict[str, Any]) -> str:
    """The gateway's scoreboard as a table, riskiest first."""

    def latency(entry: dict[str, Any], side: str) -> str:
        figures = entry["latency_ms"][side]
        return (
            "-"
            if figures["p50"] is None
            else f"{escaped(figures['p50'])} / {escaped(figures['p99'])}"
        )

    entries = sorted(
        live["endpoints"], key=lambda x: (-x["mismatched"], -x["fallbacks"], x["endpoint"])
    )
    rows = [
        f'<tr data-name="{escaped(x["endpoint"])}"><td>{escaped(x["endpoint"])}</td>'
        f"<td>{escaped(x['phase'])}</td><td>{escaped(x['requests'])}</td>"
        f"<td>{escaped(x['mirrored'])}</td><td>{escaped(x['matched'])}</td>"
        f"<td>{escaped(x['noise'])}</td><td>{escaped(x['mismatched'])}</td>"
        f"<td>{escaped(x['candidate_errors'])}</td><td>{escaped(x['served_by_candidate'])}</td>"
        f"<td>{escaped(x['fallbacks'])}</td><td>{latency(x, 'monolith')}</td>"
        f"<td>{latency(x, 'candidate')}</td></tr>"
        for x in entries
    ]
    return (
        f'<h2 id="live">Live, through the gateway</h2><p>Scoreboard of '
        f"{escaped(live['generated_at'])}.</p>"
        '<table id="live-table"><tr><th>endpoint</th><th>phase</th><th>requests</th>'
        "<th>mirrored</th><th>matched</th><th>of which noise</th><th>mismatched</th>"
        "<th>candidate errors</th><th>served by the candidate</th><th>fallbacks</th>"
        "<th>monolith p50 / p99 ms</th><th>candidate p50 / p99 ms</th></tr>"
        + "".join(rows)
        + "</table>"
    )


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #222; max-width: 110em; }}
h1 {{ margin-bottom: 0.2em; }}
p.headline {{ font-size: 1.3em; font-weight: bold; padding: 0.5em 0.8em; border-radius: 4px; }}
p.headline.bad {{ background: #fdd; }} p.headline.good {{ background: #dfd; }}
p.headline.unsure {{ background: #ffd; }}
nav a {{ margin-right: 1.5em; }}
table {{ border-collapse: collapse; margin: 0.8em 0; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
th {{ background: #f3f3f3; }}
#endpoints-table td:first-child {{ white-space: nowrap; }}
tr.v-failed .verdict, .badge.v-failed {{ background: #fdd; font-weight: bold; }}
tr.v-slower .verdict, .badge.v-slower {{ background: #fde3c8; font-weight: bold; }}
tr.v-insufficient-samples .verdict, .badge.v-insufficient-samples {{ background: #ffd; }}
tr.v-certified .verdict, .badge.v-certified {{ background: #dfd; }}
.badge {{ font-size: 0.75em; padding: 2px 8px; border-radius: 3px; vertical-align: middle; }}
pre {{ margin: 0; white-space: pre-wrap; max-width: 40em; max-height: 20em; overflow: auto; }}
pre.exp, pre.act, span.exp, span.act {{ display: inline-block; padding: 0 4px; }}
pre.exp, span.exp {{ background: #eef6ff; }} pre.act, span.act {{ background: #fff0f0; }}
tr.ignored td {{ color: #556; background: #eef1f5; }}
section.endpoint {{ border-top: 2px solid #ddd; margin-top: 2em; }}
details.group {{ margin: 0.5em 0 1em; }}
details.group summary {{ cursor: pointer; font-weight: bold; }}
input {{ padding: 4px; width: 30em; }}
table.bodies td {{ padding: 0 8px; border-top: none; border-bottom: none; }}
table.bodies pre {{ max-height: none; font-size: 12px; }}
table.bodies tr.changed td {{ background: #fff3b0; }}
table.bodies tr.ignored td {{ background: #e3e8ef; color: #445; }}
pre.repro {{ background: #f6f6f6; padding: 6px; max-width: none; }}
p.note, small.hint, p.hint {{ color: #666; }} p.note {{ font-size: 12px; }}
ul.absorbed li {{ color: #445; background: #eef1f5; margin: 2px 0; padding: 2px 6px; }}
</style></head><body>
<h1>Parity certification</h1>
<p class="headline {mood}">{headline}</p>
<p>The recorded traffic in <code>{store}</code> was replayed against <code>{target}</code>
at {generated}: {counts}.</p>
<nav><a href="#endpoints">Endpoints</a><a href="#fields">Fields that differ</a>
<a href="#details">Each endpoint</a></nav>
<p><input id="filter" placeholder="filter endpoints, e.g. GET /api/users"></p>
<h2 id="endpoints">Endpoints, riskiest first</h2>
<table id="endpoints-table"><tr><th>endpoint</th><th>verdict</th><th>replayed</th>
<th>matched</th><th>mismatched</th><th>no answer</th><th>not replayed</th><th>match rate</th>
<th>p99 answer time: monolith / candidate</th><th>main differences</th></tr>
{rows}
</table>
<h2 id="fields">Fields that differ, across endpoints</h2>
<p>A field is a place in the answer, with list positions made <code>[*]</code>: an exchange
counts once per field, however many list items differ there.</p>
{fields}
{live}
<h2 id="details">Each endpoint</h2>
{sections}
<script>
document.getElementById("filter").addEventListener("input", function (event) {{
  var text = event.target.value.toLowerCase();
  document.querySelectorAll("[data-name]").forEach(function (node) {{
    node.style.display = node.dataset.name.toLowerCase().includes(text) ? "" : "none";
  }});
}});
</script>
</body></html>
"""
