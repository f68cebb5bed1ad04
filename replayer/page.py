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

import difflib
import hashlib
import html
import json
import re
from collections.abc import Iterable
from typing import Any, Final

from parity.terminal import printable

__all__ = ["anchor", "render_html"]

#: Fields listed per endpoint and across the run; the rest are counted.
_FIELDS_SHOWN: Final = 20
_RUN_FIELDS_SHOWN: Final = 50
#: Differences listed in one example; the rest are counted.
_DIFFERENCES_SHOWN: Final = 20
_RISK: Final = {"failed": 0, "slower": 1, "insufficient samples": 2, "skipped": 3, "certified": 4}
_KEY: Final = re.compile(r'^\s*"((?:[^"\\]|\\.)*)"\s*:')


def anchor(endpoint: str) -> str:
    """The stable id of an endpoint's section: its name in URL-safe words, and a short
    digest so that names differing only in punctuation stay apart."""
    words = re.sub(r"[^a-z0-9]+", "-", endpoint.lower()).strip("-")[:60]
    digest = hashlib.sha1(endpoint.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    return f"ep-{words}-{digest}"


def _t(value: Any) -> str:
    """Any value of a document, as escaped page text; characters that are invisible or
    that reorder text shown as escapes (the difference may be one of them)."""
    return html.escape(printable(str(value), keep="\n\t"))


def _json(value: Any) -> str:
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    )
    return _t(text)


# Figures as plain text (escaped where they are put on the page, like any other value).


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _percent(rate: Any) -> str:
    if rate is None:
        return "-"
    return f"{100 * rate:.1f}%" if _is_number(rate) else str(rate)


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:.6g}"
    return str(value)


def _ms(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} ms" if _is_number(value) and value < 1e5 else f"{_number(value)} ms"


def _ratio(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}x" if _is_number(value) else str(value)


def _verdict_line(document: dict[str, Any]) -> tuple[str, str]:
    """The page's headline, in words, and its class."""
    summary = {name: _count(count) for name, count in document["summary"].items()}
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
        title=_t(f"Parity certification: {document['target']}"),
        headline=_t(headline),
        mood=mood,
        store=_t(document["store"]),
        target=_t(document["target"]),
        generated=_t(document["generated_at"]),
        counts=_t(counts or "no endpoints"),
        rows="\n".join(_row(endpoint) for endpoint in endpoints),
        fields=_run_fields(document.get("fields", []), endpoints),
        live=_live(live) if live is not None else "",
        sections="\n".join(_section(endpoint) for endpoint in endpoints),
    )


def _riskiest_first(endpoint: dict[str, Any]) -> tuple[int, int, str]:
    """Failed, slower, insufficient, skipped, certified; the most mismatches first."""
    trouble = _count(endpoint["mismatched"]) + _count(endpoint["error"])
    return _RISK.get(str(endpoint["verdict"]), 5), -trouble, str(endpoint["endpoint"])


def _count(value: Any) -> int:
    """A count for ordering, whatever a crafted document holds in its place."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _row(endpoint: dict[str, Any]) -> str:
    name = str(endpoint["endpoint"])
    verdict = str(endpoint["verdict"])
    fields = endpoint.get("fields", [])[:2]
    differing = "; ".join(f"<code>{_t(f['path'])}</code> in {_t(f['exchanges'])}" for f in fields)
    latency = endpoint.get("latency") or {}
    p99 = "-"
    if latency and (latency["monolith_ms"]["count"] or latency["candidate_ms"]["count"]):
        p99 = (
            _t(f"{_ms(latency['monolith_ms']['p99'])} / {_ms(latency['candidate_ms']['p99'])}")
            + f"<br><small>{_t(_ratio(latency['p99_ratio']))}</small>"
        )
    blind = (endpoint.get("blind") or {}).get("values") if endpoint.get("verdict_note") else 0
    shown = _t(verdict) + (
        f'<br><small class="hint">{_t(blind)} value(s) not comparable</small>' if blind else ""
    )
    return (
        f'<tr class="v-{_t(verdict.replace(" ", "-"))}" data-name="{_t(name)}">'
        f'<td><a href="#{anchor(name)}">{_t(name)}</a></td><td class="verdict">{shown}</td>'
        f"<td>{_t(endpoint['replayed'])}</td><td>{_t(endpoint['matched'])}</td>"
        f"<td>{_t(endpoint['mismatched'])}</td><td>{_t(endpoint['error'])}</td>"
        f"<td>{_t(endpoint['skipped'])}</td><td>{_t(_percent(endpoint['match_rate']))}</td>"
        f"<td>{p99}</td><td>{differing}</td></tr>"
    )


def _distance(numeric: dict[str, Any] | None) -> str:
    if not numeric:
        return ""
    return _t(
        f"up to {_number(numeric['max_abs'])} apart, median "
        f"{_number(numeric['median_abs'])} ({numeric['differences']} numbers)"
    )


def _example(example: dict[str, Any] | None) -> str:
    if not example:
        return ""
    return (
        f'<span class="exp">{_json(example.get("expected"))}</span> &rarr; '
        f'<span class="act">{_json(example.get("actual"))}</span>'
    )


def _run_fields(fields: list[dict[str, Any]], endpoints: list[dict[str, Any]]) -> str:
    if not fields:
        return "<p>No field differs on any endpoint.</p>"
    rows = []
    for entry in fields[:_RUN_FIELDS_SHOWN]:
        names = entry.get("endpoints", [])
        links = ", ".join(f'<a href="#{anchor(str(n))}">{_t(n)}</a>' for n in names[:5])
        if len(names) > 5:
            links += f" and {len(names) - 5} more"
        rows.append(
            f"<tr><td><code>{_t(entry['path'])}</code></td><td>{links}</td>"
            f"<td>{_t(entry['exchanges'])} of {_t(entry['compared'])}</td>"
            f"<td>{_t(_percent(entry['rate']))}</td><td>{_example(entry.get('example'))}</td>"
            f"<td>{_distance(entry.get('numeric'))}</td></tr>"
        )
    more = len(fields) - _RUN_FIELDS_SHOWN
    tail = f"<p>... and {more} more field(s) in certification.json.</p>" if more > 0 else ""
    return (
        '<table id="fields-table"><tr><th>field</th><th>endpoints</th>'
        "<th>exchanges that differ there</th><th>share</th><th>example: monolith &rarr; "
        "candidate</th><th>numbers</th></tr>" + "".join(rows) + "</table>" + tail
    )


def _section(endpoint: dict[str, Any]) -> str:
    name = str(endpoint["endpoint"])
    verdict = str(endpoint["verdict"])
    parts = [
        f'<section class="endpoint" id="{anchor(name)}" data-name="{_t(name)}">',
        f'<h3>{_t(name)} <span class="badge v-{_t(verdict.replace(" ", "-"))}">'
        f"{_t(verdict)}</span></h3>",
        f"<p>{_t(_plain_counts(endpoint))}</p>",
    ]
    latency = endpoint.get("latency")
    if latency and (latency["monolith_ms"]["count"] or latency["candidate_ms"]["count"]):
        parts.append(f"<p>{_t(_plain_latency(latency))}</p>")
    if endpoint.get("verdict_note"):
        parts.append(f'<p class="hint">{_t(endpoint["verdict_note"])}</p>')
    fields = endpoint.get("fields", [])
    if fields:
        parts.append("<h4>Where the answers differ</h4>" + _endpoint_fields(fields))
    groups = endpoint.get("groups", [])
    if groups:
        parts.append("<h4>Mismatches, by kind</h4>")
        parts += [_group(group, index == 0) for index, group in enumerate(groups)]
        if endpoint.get("other_groups"):
            parts.append(
                f"<p>... and {_t(endpoint['other_groups'])} more mismatch(es) of other kinds, "
                "not grouped.</p>"
            )
    absorbed = _absorbed(endpoint)
    if absorbed:
        parts.append('<h4>Not counted</h4><ul class="absorbed">' + absorbed + "</ul>")
    reasons = endpoint.get("skip_reasons") or {}
    if reasons:
        items = "".join(f"<li>{_t(why)}: {_t(n)}</li>" for why, n in reasons.items())
        parts.append(f"<h4>Not replayed</h4><ul>{items}</ul>")
    parts.append('<p class="top"><a href="#endpoints">back to the endpoints</a></p></section>')
    return "\n".join(parts)


def _plain_counts(endpoint: dict[str, Any]) -> str:
    replayed = endpoint["replayed"]
    if not replayed:
        return f"Not replayed: {endpoint['skipped']} exchange(s) skipped."
    words = [
        f"{endpoint['matched']} of {replayed} replayed exchanges answered as the monolith did "
        f"({_percent(endpoint['match_rate'])}; {_percent(endpoint.get('threshold'))} needed)"
    ]
    if endpoint["mismatched"]:
        words.append(f"{endpoint['mismatched']} answered differently")
    if endpoint["error"]:
        words.append(f"the candidate gave no answer to {endpoint['error']}")
    if endpoint["skipped"]:
        words.append(f"{endpoint['skipped']} were not replayed")
    profile = endpoint.get("profile")
    if profile and profile != "json":
        words.append(f"compared as {profile}")
    return "; ".join(words) + "."


def _plain_latency(latency: dict[str, Any]) -> str:
    monolith, candidate = latency["monolith_ms"], latency["candidate_ms"]
    text = (
        f"Answer times, p50 / p99: monolith {_ms(monolith['p50'])} / {_ms(monolith['p99'])} "
        f"(as recorded), candidate {_ms(candidate['p50'])} / {_ms(candidate['p99'])}"
    )
    if latency["p99_ratio"] is not None:
        text += f"; the candidate takes {_ratio(latency['p99_ratio'])} the monolith's time at p99"
    budget = latency.get("max_p99_ratio")
    if budget is not None:
        text += f" (budget {_ratio(budget)}: {'over' if latency['slower'] else 'within'})"
    return text + "."


def _endpoint_fields(fields: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td><code>{_t(f['path'])}</code></td>"
        f"<td>{_t(f['exchanges'])} of {_t(f['compared'])} ({_t(_percent(f['rate']))})</td>"
        f"<td>{_t(', '.join(f'{k} ({n} value(s))' for k, n in f['kinds'].items()))}</td>"
        f"<td>{_example(f.get('example'))}</td><td>{_distance(f.get('numeric'))}</td></tr>"
        for f in fields[:_FIELDS_SHOWN]
    )
    more = len(fields) - _FIELDS_SHOWN
    tail = f"<p>... and {more} more field(s).</p>" if more > 0 else ""
    return (
        '<table class="fields"><tr><th>field</th><th>exchanges that differ there</th>'
        "<th>how</th><th>example: monolith &rarr; candidate</th><th>numbers</th></tr>"
        + rows
        + "</table>"
        + tail
    )


def _group(group: dict[str, Any], first: bool) -> str:
    where = ", ".join(f"{s['path']} ({s['kind']})" for s in group["signature"])
    size = group["exchanges"]
    shown = group.get("shown", 0)
    summary = f"{size} exchange(s) differ at {where}" + (
        f" \N{EM DASH} {shown} of {size} shown" if shown else ""
    )
    example = group.get("example")
    body = _case(example) if example else ""
    others = [i for i in group.get("exchange_ids", []) if not example or i != example["exchange"]]
    if others:
        body += (
            f"<p>Others of this kind: {_t(', '.join(others))}"
            + (" and more" if _count(size) > len(others) + 1 else "")
            + "</p>"
        )
    opened = " open" if first else ""
    return f'<details class="group"{opened}><summary>{_t(summary)}</summary>{body}</details>'


def _case(example: dict[str, Any]) -> str:
    differences = example.get("differences", [])
    bodies = example.get("bodies")
    rows = []
    for d in differences[:_DIFFERENCES_SHOWN]:
        hint = f'<br><small class="hint">{_t(d["hint"])}</small>' if d.get("hint") else ""
        if d["path"] == "body" and bodies:  # not JSON: the bodies below say it all
            expected = actual = "<em>the bodies, below</em>"
        else:
            expected = f'<pre class="exp">{_json(d["expected"])}</pre>'
            actual = f'<pre class="act">{_json(d["actual"])}</pre>'
        rows.append(
            f"<tr><td><code>{_t(d['path'])}</code></td><td>{_t(d['kind'])}{hint}</td>"
            f"<td>{expected}</td><td>{actual}</td></tr>"
        )
    for d in example.get("ignored", [])[:_DIFFERENCES_SHOWN]:
        rows.append(
            f'<tr class="ignored"><td><code>{_t(d["path"])}</code></td>'
            f"<td>not counted: {_t(d['rule'])}</td>"
            f"<td><pre>{_json(d['expected'])}</pre></td><td><pre>{_json(d['actual'])}</pre></td></tr>"
        )
    more = len(differences) - _DIFFERENCES_SHOWN
    tail = f"<p>... and {more} more difference(s).</p>" if more > 0 else ""
    parts = [
        f"<p>Exchange <code>{_t(example['exchange'])}</code>:</p>",
        '<table class="diff"><tr><th>where</th><th>how</th><th>monolith (expected)</th>'
        "<th>candidate (actual)</th></tr>" + "".join(rows) + "</table>" + tail,
    ]
    if bodies:
        counted = _leaf_keys(d["path"] for d in differences)
        ignored = _leaf_keys(d["path"] for d in example.get("ignored", [])) - counted
        parts.append(_side_by_side(bodies["expected"], bodies["actual"], ignored))
    commands = example.get("reproduce") or []
    if commands:
        shown = "\n".join(_t(command) for command in commands)
        parts.append(f'<p>Reproduce:</p><pre class="repro">{shown}</pre>')
    return "".join(parts)


def _leaf_keys(paths: Iterable[str]) -> set[str]:
    """The last key of each JSON path (``$.a[0].b`` -> ``b``), to tell body lines apart."""
    keys = set()
    for path in paths:
        match = re.search(
            r"\.([A-Za-z_][A-Za-z0-9_]*)$|\['((?:[^'\\]|\\.)*)'\]$",
            re.sub(r"(\[\d+\])+$", "", path),
        )
        if match:
            keys.add(match.group(1) or match.group(2))
    return keys


def _side_by_side(expected: str, actual: str, ignored: set[str]) -> str:
    """Both bodies in two columns, line by line: lines that differ where a difference
    counts in yellow, lines that differ only at fields not counted (noise, rules) in grey."""
    left, right = expected.splitlines(), actual.splitlines()
    rows = []
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for k in range(max(i2 - i1, j2 - j1)):
            old = left[i1 + k] if i1 + k < i2 else ""
            new = right[j1 + k] if j1 + k < j2 else ""
            mark = ""
            if tag != "equal" and not _same_value(old, new):
                keys = {m.group(1) for m in map(_KEY.match, (old, new)) if m}
                mark = ' class="ignored"' if keys and keys <= ignored else ' class="changed"'
            rows.append(
                f"<tr{mark}><td><pre>{_t(old)}</pre></td><td><pre>{_t(new)}</pre></td></tr>"
            )
    return (
        '<table class="bodies"><tr><th>monolith&#39;s body</th><th>candidate&#39;s body</th>'
        "</tr>" + "".join(rows) + "</table>"
        '<p class="note">JSON with its keys sorted. Yellow: lines that differ where a '
        "difference counts. Grey: lines that differ only at fields not counted.</p>"
    )


def _same_value(old: str, new: str) -> bool:
    """Whether two lines of pretty-printed JSON write one value differently (``100.0``
    and ``100`` are one number in JSON): not a difference, so not highlighted."""
    if not old or not new:
        return False
    try:
        before = json.loads("[" + old.strip().removesuffix(",") + "]")
        after = json.loads("[" + new.strip().removesuffix(",") + "]")
    except ValueError:
        try:  # a key and its value: `"percent": 100.0,`
            before = json.loads("{" + old.strip().removesuffix(",") + "}")
            after = json.loads("{" + new.strip().removesuffix(",") + "}")
        except ValueError:
            return False
    return bool(before == after) and _kinds(before) == _kinds(after)


def _kinds(value: Any) -> Any:
    """Booleans apart from numbers, which Python's equality mixes (``True == 1``)."""
    if isinstance(value, dict):
        return {key: _kinds(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_kinds(item) for item in value]
    return "bool" if isinstance(value, bool) else "number" if _is_number(value) else value


def _absorbed(endpoint: dict[str, Any]) -> str:
    """What noise and rules absorbed for one endpoint, as list items."""
    items = []
    for noise in endpoint.get("noise", []):
        verdict = (
            "learned as noise"
            if noise["explained"]
            else "<strong>not explained by the noise learned: counted after all</strong>"
        )
        items.append(
            f"<li><code>{_t(noise['path'])}</code> differed in {_t(noise['absorbed'])} "
            f"exchange(s): {verdict} (it {_t(noise['evidence'])})</li>"
        )
    items += [
        f"<li>{_t(rule['count'])} difference(s): {_t(rule['rule'])}</li>"
        for rule in endpoint.get("ignored", [])
    ]
    return "".join(items)


def _live(live: dict[str, Any]) -> str:
    """The gateway's scoreboard as a table, riskiest first."""

    def latency(entry: dict[str, Any], side: str) -> str:
        figures = entry["latency_ms"][side]
        return "-" if figures["p50"] is None else f"{_t(figures['p50'])} / {_t(figures['p99'])}"

    entries = sorted(
        live["endpoints"], key=lambda x: (-x["mismatched"], -x["fallbacks"], x["endpoint"])
    )
    rows = [
        f'<tr data-name="{_t(x["endpoint"])}"><td>{_t(x["endpoint"])}</td><td>{_t(x["phase"])}</td>'
        f"<td>{_t(x['requests'])}</td><td>{_t(x['mirrored'])}</td><td>{_t(x['matched'])}</td>"
        f"<td>{_t(x['noise'])}</td><td>{_t(x['mismatched'])}</td>"
        f"<td>{_t(x['candidate_errors'])}</td><td>{_t(x['served_by_candidate'])}</td>"
        f"<td>{_t(x['fallbacks'])}</td><td>{latency(x, 'monolith')}</td>"
        f"<td>{latency(x, 'candidate')}</td></tr>"
        for x in entries
    ]
    return (
        f'<h2 id="live">Live, through the gateway</h2><p>Scoreboard of '
        f"{_t(live['generated_at'])}.</p>"
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
