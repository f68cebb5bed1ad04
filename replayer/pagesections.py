"""report.html's section per endpoint, and the stable id the page links to it by.

A section gives the endpoint's counts and answer times, where its answers differ,
its mismatches grouped by kind with one example of each (its differences, what was
not counted, both bodies side by side, the commands that reproduce it), and what
noise and normalisation rules absorbed, apart and in another colour.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any, Final

from replayer.pagetext import (
    as_count,
    distance_html,
    escaped,
    escaped_json,
    example_html,
    is_number,
    ms,
    percent,
    ratio,
)

__all__ = ["anchor", "endpoint_section"]

#: Fields listed per endpoint; the rest are counted.
_FIELDS_SHOWN: Final = 20
#: Differences listed in one example; the rest are counted.
_DIFFERENCES_SHOWN: Final = 20
_KEY: Final = re.compile(r'^\s*"((?:[^"\\]|\\.)*)"\s*:')


def anchor(endpoint: str) -> str:
    """The stable id of an endpoint's section: its name in URL-safe words, and a short
    digest so that names differing only in punctuation stay apart."""
    words = re.sub(r"[^a-z0-9]+", "-", endpoint.lower()).strip("-")[:60]
    digest = hashlib.sha1(endpoint.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    return f"ep-{words}-{digest}"


def endpoint_section(endpoint: dict[str, Any]) -> str:
    """One endpoint's section of the page, under the id `anchor` gives it."""
    name = str(endpoint["endpoint"])
    verdict = str(endpoint["verdict"])
    parts = [
        f'<section class="endpoint" id="{anchor(name)}" data-name="{escaped(name)}">',
        f'<h3>{escaped(name)} <span class="badge v-{escaped(verdict.replace(" ", "-"))}">'
        f"{escaped(verdict)}</span></h3>",
        f"<p>{escaped(_plain_counts(endpoint))}</p>",
    ]
    latency = endpoint.get("latency")
    if latency and (latency["monolith_ms"]["count"] or latency["candidate_ms"]["count"]):
        parts.append(f"<p>{escaped(_plain_latency(latency))}</p>")
    if endpoint.get("verdict_note"):
        parts.append(f'<p class="hint">{escaped(endpoint["verdict_note"])}</p>')
    fields = endpoint.get("fields", [])
    if fields:
        parts.append("<h4>Where the answers differ</h4>" + _endpoint_fields(fields))
    groups = endpoint.get("groups", [])
    if groups:
        parts.append("<h4>Mismatches, by kind</h4>")
        parts += [_group(group, index == 0) for index, group in enumerate(groups)]
        if endpoint.get("other_groups"):
            parts.append(
                f"<p>... and {escaped(endpoint['other_groups'])} more mismatch(es) of other kinds, "
                "not grouped.</p>"
            )
    absorbed = _absorbed(endpoint)
    if absorbed:
        parts.append('<h4>Not counted</h4><ul class="absorbed">' + absorbed + "</ul>")
    reasons = endpoint.get("skip_reasons") or {}
    if reasons:
        items = "".join(f"<li>{escaped(why)}: {escaped(n)}</li>" for why, n in reasons.items())
        parts.append(f"<h4>Not replayed</h4><ul>{items}</ul>")
    parts.append('<p class="top"><a href="#endpoints">back to the endpoints</a></p></section>')
    return "\n".join(parts)


def _plain_counts(endpoint: dict[str, Any]) -> str:
    replayed = endpoint["replayed"]
    if not replayed:
        return f"Not replayed: {endpoint['skipped']} exchange(s) skipped."
    words = [
        f"{endpoint['matched']} of {replayed} replayed exchanges answered as the monolith did "
        f"({percent(endpoint['match_rate'])}; {percent(endpoint.get('threshold'))} needed)"
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
        f"Answer times, p50 / p99: monolith {ms(monolith['p50'])} / {ms(monolith['p99'])} "
        f"(as recorded), candidate {ms(candidate['p50'])} / {ms(candidate['p99'])}"
    )
    if latency["p99_ratio"] is not None:
        text += f"; the candidate takes {ratio(latency['p99_ratio'])} the monolith's time at p99"
    budget = latency.get("max_p99_ratio")
    if budget is not None:
        text += f" (budget {ratio(budget)}: {'over' if latency['slower'] else 'within'})"
    return text + "."


def _endpoint_fields(fields: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td><code>{escaped(f['path'])}</code></td>"
        f"<td>{escaped(f['exchanges'])} of {escaped(f['compared'])} "
        f"({escaped(percent(f['rate']))})</td>"
        f"<td>{escaped(', '.join(f'{k} ({n} value(s))' for k, n in f['kinds'].items()))}</td>"
        f"<td>{example_html(f.get('example'))}</td><td>{distance_html(f.get('numeric'))}</td></tr>"
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
            f"<p>Others of this kind: {escaped(', '.join(others))}"
            + (" and more" if as_count(size) > len(others) + 1 else "")
            + "</p>"
        )
    opened = " open" if first else ""
    return f'<details class="group"{opened}><summary>{escaped(summary)}</summary>{body}</details>'


def _case(example: dict[str, Any]) -> str:
    differences = example.get("differences", [])
    bodies = example.get("bodies")
    rows = []
    for d in differences[:_DIFFERENCES_SHOWN]:
        hint = f'<br><small class="hint">{escaped(d["hint"])}</small>' if d.get("hint") else ""
        if d["path"] == "body" and bodies:  # not JSON: the bodies below say it all
            expected = actual = "<em>the bodies, below</em>"
        else:
            expected = f'<pre class="exp">{escaped_json(d["expected"])}</pre>'
            actual = f'<pre class="act">{escaped_json(d["actual"])}</pre>'
        rows.append(
            f"<tr><td><code>{escaped(d['path'])}</code></td><td>{escaped(d['kind'])}{hint}</td>"
            f"<td>{expected}</td><td>{actual}</td></tr>"
        )
    for d in example.get("ignored", [])[:_DIFFERENCES_SHOWN]:
        rows.append(
            f'<tr class="ignored"><td><code>{escaped(d["path"])}</code></td>'
            f"<td>not counted: {escaped(d['rule'])}</td>"
            f"<td><pre>{escaped_json(d['expected'])}</pre></td>"
            f"<td><pre>{escaped_json(d['actual'])}</pre></td></tr>"
        )
    more = len(differences) - _DIFFERENCES_SHOWN
    tail = f"<p>... and {more} more difference(s).</p>" if more > 0 else ""
    parts = [
        f"<p>Exchange <code>{escaped(example['exchange'])}</code>:</p>",
        '<table class="diff"><tr><th>where</th><th>how</th><th>monolith (expected)</th>'
        "<th>candidate (actual)</th></tr>" + "".join(rows) + "</table>" + tail,
    ]
    if bodies:
        counted = _leaf_keys(d["path"] for d in differences)
        ignored = _leaf_keys(d["path"] for d in example.get("ignored", [])) - counted
        parts.append(_side_by_side(bodies["expected"], bodies["actual"], ignored))
    commands = example.get("reproduce") or []
    if commands:
        shown = "\n".join(escaped(command) for command in commands)
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
                f"<tr{mark}><td><pre>{escaped(old)}</pre></td>"
                f"<td><pre>{escaped(new)}</pre></td></tr>"
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
    return "bool" if isinstance(value, bool) else "number" if is_number(value) else value


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
            f"<li><code>{escaped(noise['path'])}</code> differed in {escaped(noise['absorbed'])} "
            f"exchange(s): {verdict} (it {escaped(noise['evidence'])})</li>"
        )
    items += [
        f"<li>{escaped(rule['count'])} difference(s): {escaped(rule['rule'])}</li>"
        for rule in endpoint.get("ignored", [])
    ]
    return "".join(items)
