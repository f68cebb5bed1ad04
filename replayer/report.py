"""What a run concludes, for people and machines: the terminal table,
``certification.json``, and a single self-contained ``report.html``.

certification.json (schema version `SCHEMA_VERSION`) holds the run's inputs
(store, target, seed, thresholds) and per endpoint its counts, verdict and
most frequent differing paths with example exchange ids. report.html shows
the same for a release manager: endpoints sorted by risk, a filter, and for
each kept mismatch the expected and actual values side by side. Both are
written from the tallies and the failure reports the controller received,
so they come out the same with or without pytest-xdist.
"""

from __future__ import annotations

import difflib
import html
import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from parity.compare import profile
from parity.terminal import printable
from replayer.certify import Verdict

if TYPE_CHECKING:
    from replayer.run import ReplayRun

__all__ = ["SCHEMA_VERSION", "certification", "summary_lines", "write_reports"]

SCHEMA_VERSION = 1
_RISK = {Verdict.FAILED: 0, Verdict.INSUFFICIENT: 1, Verdict.SKIPPED: 2, Verdict.CERTIFIED: 3}


def certification(run: ReplayRun) -> dict[str, Any]:
    """The run's certification as JSON-compatible values."""
    settings = run.settings
    endpoints = []
    for endpoint in sorted(run.tallies):
        threshold, samples = settings.threshold_for(endpoint)
        record = run.tallies[endpoint].to_record(threshold, samples, run.noise.settings)
        # How its answers were compared: as JSON, or as GraphQL clients read them.
        record["profile"] = profile(endpoint, run.rules.for_endpoint(endpoint))
        endpoints.append(record)
    endpoints.sort(key=lambda e: (_RISK[Verdict(e["verdict"])], -(e["mismatched"] + e["error"])))
    verdicts = [Verdict(e["verdict"]) for e in endpoints]
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "store": settings.store,
        "target": settings.target,
        "seed": settings.seed,
        "per_endpoint": settings.per_endpoint,
        "threshold": settings.threshold,
        "min_samples": settings.min_samples,
        "thresholds": [
            {"endpoint": t.pattern, "threshold": t.threshold, "min_samples": t.min_samples}
            for t in settings.thresholds
        ],
        "summary": {v.value: verdicts.count(v) for v in Verdict},
        "endpoints": endpoints,
    }


def summary_lines(run: ReplayRun) -> Iterator[str]:
    """The table printed at the end of a run."""
    if not run.tallies:
        yield "parity: no recorded exchanges were replayed"
        return
    document = certification(run)
    rows = [
        ("endpoint", "replayed", "matched", "mismatched", "errors", "skipped", "rate", "verdict")
    ]
    for e in document["endpoints"]:
        rate = "-" if e["match_rate"] is None else f"{100 * e['match_rate']:.1f}%"
        blind = e["blind"]["values"]
        verdict = e["verdict"] + (f" ({blind} blind)" if blind and e["verdict_note"] else "")
        rows.append((e["endpoint"], str(e["replayed"]), str(e["matched"]), str(e["mismatched"]),
                     str(e["error"]), str(e["skipped"]), rate, verdict))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    yield ""
    yield "parity certification"
    for number, row in enumerate(rows):
        cells = [
            c.ljust(w) if i in (0, 7) else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        yield "  ".join(cells).rstrip()
        if number == 0:
            yield "  ".join("-" * w for w in widths)
    summary = document["summary"]
    yield (
        f"{summary['certified']} certified, {summary['failed']} failed, "
        f"{summary['insufficient samples']} with insufficient samples, {summary['skipped']} skipped"
    )
    blind = [e for e in document["endpoints"] if e["verdict_note"]]
    if blind:
        values = sum(e["blind"]["values"] for e in blind)
        exchanges = sum(e["blind"]["exchanges"] for e in blind)
        yield (
            f"blind: {values} value(s) in {exchanges} exchange(s) on {len(blind)} endpoint(s) "
            "were redacted alike on both sides, so equal without being compared; replay with "
            "the recording's key to compare what it pseudonymised"
        )


def write_reports(run: ReplayRun) -> list[Path]:
    """Write certification.json and report.html into the run's report directory."""
    directory = run.settings.report
    assert directory is not None
    directory.mkdir(parents=True, exist_ok=True)
    document = certification(run)
    written = []
    for name, text in (
        ("certification.json", json.dumps(document, indent=2, ensure_ascii=False) + "\n"),
        ("report.html", render_html(document, run.mismatches)),
    ):
        path = directory / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        # A lone surrogate (half an emoji a candidate escaped, or a byte that was not
        # UTF-8) cannot be written as UTF-8: it is written as the text of its escape.
        escape = _SURROGATE_IN_JSON if name.endswith(".json") else _SURROGATE_IN_TEXT
        tmp.write_bytes(written_utf8(text, escape))
        os.replace(tmp, path)
        written.append(path)
    return written


#: A lone surrogate, written as its escape in a JSON string (an escaped backslash, so the
#: file stays valid for strict readers) or as the same six characters in a page.
_SURROGATE_IN_JSON: Final = "\\\\u{:04x}"
_SURROGATE_IN_TEXT: Final = "\\u{:04x}"
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def written_utf8(text: str, escape: str = _SURROGATE_IN_TEXT) -> bytes:
    """`text` as UTF-8, each lone surrogate in it written as `escape` formats its code."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub(lambda m: escape.format(ord(m.group())), text).encode("utf-8")


def render_html(
    document: dict[str, Any],
    mismatches: dict[str, list[dict[str, Any]]],
    live: dict[str, Any] | None = None,
) -> str:
    """One HTML page, no external resources: styles and the filter script are inline.
    `live` (the side-by-side gateway's live.json) adds the live scoreboard. Every value
    is escaped, whatever the documents hold (a certification may come from anywhere)."""
    e = n = _text
    rows = []
    details = []
    for endpoint in document["endpoints"]:
        name = str(endpoint["endpoint"])
        top = endpoint["differing_paths"][:3]
        paths = ", ".join(f"{n(p['path'])} ({n(p['count'])})" for p in top)
        verdict = str(endpoint["verdict"])
        note = endpoint.get("verdict_note")
        shown = e(verdict) + (f'<br><small class="hint">{n(note)}</small>' if note else "")
        rows.append(
            f'<tr class="v-{e(verdict.replace(" ", "-"))}" data-name="{e(name)}">'
            f"<td>{e(name)}{_profile(endpoint)}</td><td>{n(endpoint['replayed'])}</td><td>{n(endpoint['matched'])}</td>"
            f"<td>{n(endpoint['mismatched'])}</td><td>{n(endpoint['error'])}</td>"
            f"<td>{n(endpoint['skipped'])}</td><td>{_rate(endpoint['match_rate'])}</td>"
            f'<td class="verdict">{shown}</td><td>{paths}</td></tr>'
        )
        absorbed = _absorbed(endpoint)
        if absorbed:
            details.append(
                f'<section class="noise" data-name="{e(name)}"><h3>{e(name)} '
                f"<small>differences not counted</small></h3><ul>{absorbed}</ul></section>"
            )
        for case in mismatches.get(name, []):
            diffs = "".join(
                f"<tr><td><code>{n(d['path'])}</code></td><td>{n(d['kind'])}"
                + (f'<br><small class="hint">{n(d["hint"])}</small>' if d.get("hint") else "")
                + "</td>"
                f'<td><pre class="exp">{e(_show(d["expected"]))}</pre></td>'
                f'<td><pre class="act">{e(_show(d["actual"]))}</pre></td></tr>'
                for d in case["differences"]
            )
            bodies = case.get("bodies")
            side_by_side = _side_by_side(bodies["expected"], bodies["actual"]) if bodies else ""
            details.append(
                f'<section class="case" data-name="{e(name)}"><h3>{e(name)} '
                f"<small>exchange {n(case['exchange'])}</small></h3>"
                f'<table class="diff"><tr><th>path</th><th>kind</th><th>expected (monolith)</th>'
                f"<th>actual (candidate)</th></tr>{diffs}</table>{side_by_side}</section>"
            )
    summary = ", ".join(f"{count} {name}" for name, count in document["summary"].items())
    return _PAGE.format(
        title=e(f"Parity certification: {document['target']}"),
        store=e(str(document["store"])),
        target=e(str(document["target"])),
        generated=n(document["generated_at"]),
        summary=e(summary),
        rows="\n".join(rows),
        details="\n".join(details) or "<p>No mismatches.</p>",
        live=_live(live) if live is not None else "",
    )


def _profile(endpoint: dict[str, Any]) -> str:
    """The comparison profile under an endpoint's name, when it is not plain JSON."""
    compared = endpoint.get("profile")
    if not compared or compared == "json":
        return ""
    return f'<br><small class="hint">compared as {_text(compared)}</small>'


def _text(value: Any) -> str:
    """Any value of a document, as escaped page text; characters that are invisible or
    that reorder text shown as escapes (the difference may be one of them)."""
    return html.escape(printable(str(value), keep="\n\t"))


def _rate(rate: Any) -> str:
    if rate is None:
        return "-"
    if isinstance(rate, int | float) and not isinstance(rate, bool):
        return f"{100 * rate:.1f}%"
    return _text(rate)


def _live(live: dict[str, Any]) -> str:
    """The gateway's scoreboard as a table, riskiest first."""
    n = _text

    def latency(entry: dict[str, Any], side: str) -> str:
        figures = entry["latency_ms"][side]
        return "-" if figures["p50"] is None else f"{n(figures['p50'])} / {n(figures['p99'])}"

    entries = sorted(live["endpoints"], key=lambda x: (-x["mismatched"], -x["fallbacks"],
                                                       x["endpoint"]))  # fmt: skip
    rows = [
        f'<tr data-name="{n(x["endpoint"])}"><td>{n(x["endpoint"])}</td><td>{n(x["phase"])}</td>'
        f"<td>{n(x['requests'])}</td><td>{n(x['mirrored'])}</td><td>{n(x['matched'])}</td>"
        f"<td>{n(x['noise'])}</td><td>{n(x['mismatched'])}</td><td>{n(x['candidate_errors'])}</td>"
        f"<td>{n(x['served_by_candidate'])}</td><td>{n(x['fallbacks'])}</td>"
        f"<td>{latency(x, 'monolith')}</td><td>{latency(x, 'candidate')}</td></tr>"
        for x in entries
    ]
    return (
        f"<h2>Live, through the gateway</h2><p>Scoreboard of {n(live['generated_at'])}.</p>"
        '<table id="live"><tr><th>endpoint</th><th>phase</th><th>requests</th>'
        "<th>mirrored</th><th>matched</th><th>of which noise</th><th>mismatched</th>"
        "<th>candidate errors</th><th>served by the candidate</th><th>fallbacks</th>"
        "<th>monolith p50 / p99 ms</th><th>candidate p50 / p99 ms</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _absorbed(endpoint: dict[str, Any]) -> str:
    """What noise and rules absorbed for one endpoint, as list items."""
    n = _text
    items = []
    for noise in endpoint["noise"]:
        verdict = (
            "noise"
            if noise["explained"]
            else "<strong>not explained by noise: counted as mismatches</strong>"
        )
        items.append(
            f"<li><code>{n(noise['path'])}</code> in {n(noise['absorbed'])} exchange(s): "
            f"{verdict} ({n(noise['evidence'])})</li>"
        )
    items += [f"<li>{n(rule['rule'])}: {n(rule['count'])}</li>" for rule in endpoint["ignored"]]
    return "".join(items)


def _side_by_side(expected: str, actual: str) -> str:
    """Both bodies in two columns, line by line, the lines that differ highlighted."""
    left, right = expected.splitlines(), actual.splitlines()
    rows = []
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for k in range(max(i2 - i1, j2 - j1)):
            old = left[i1 + k] if i1 + k < i2 else ""
            new = right[j1 + k] if j1 + k < j2 else ""
            mark = "" if tag == "equal" else ' class="changed"'
            rows.append(
                f"<tr{mark}><td><pre>{_text(old)}</pre></td><td><pre>{_text(new)}</pre></td></tr>"
            )
    return (
        '<table class="bodies"><tr><th>expected body (monolith)</th>'
        "<th>actual body (candidate)</th></tr>" + "".join(rows) + "</table>"
        '<p class="note">Bodies with sorted keys; highlighted lines differ, including '
        "fields the normalisation rules ignore.</p>"
    )


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
th {{ background: #f3f3f3; }}
tr.v-failed .verdict {{ background: #fdd; font-weight: bold; }}
tr.v-insufficient-samples .verdict {{ background: #ffd; }}
tr.v-certified .verdict {{ background: #dfd; }}
pre {{ margin: 0; white-space: pre-wrap; max-width: 40em; max-height: 20em; overflow: auto; }}
pre.exp {{ background: #eef6ff; }} pre.act {{ background: #fff0f0; }}
input {{ padding: 4px; width: 30em; }}
table.bodies td {{ padding: 0 8px; border-top: none; border-bottom: none; }}
table.bodies pre {{ max-height: none; font-size: 12px; }}
table.bodies tr.changed td {{ background: #fff3b0; }}
p.note {{ color: #666; font-size: 12px; }}
</style></head><body>
<h1>Parity certification</h1>
<p>Store <code>{store}</code> replayed against <code>{target}</code> at {generated}: {summary}.</p>
<p><input id="filter" placeholder="filter endpoints, e.g. GET /api/users"></p>
<h2>Endpoints, riskiest first</h2>
<table id="endpoints"><tr><th>endpoint</th><th>replayed</th><th>matched</th><th>mismatched</th>
<th>errors</th><th>skipped</th><th>match rate</th><th>verdict</th><th>top differing paths</th></tr>
{rows}
</table>
{live}
<h2>Mismatches, and what was not counted</h2>
{details}
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
