"""What a run concludes, for people and machines: the terminal table,
``certification.json``, and a single self-contained ``report.html``
(`replayer.page`, drawn from certification.json alone).

certification.json (schema version `SCHEMA_VERSION`, described in
docs/REPLAYING.md) holds the run's inputs (store, target, seed, thresholds,
latency budget), and per endpoint its counts and verdict, the fields its
answers differ at, its mismatches grouped by kind with one example each,
what noise and rules absorbed, and both sides' answer times; and the fields
that differ across all endpoints. Both files are written from the tallies
the controller received, so they come out the same with or without
pytest-xdist. `report_page` draws the page again later (``parity report``),
from certification.json, the gateway's live.json, or both.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from parity.errors import UsageError
from replayer.aggregate import Fields
from replayer.certify import Verdict
from replayer.page import render_html
from replayer.state import STATE_FILE, RunState

__all__ = [
    "SCHEMA_VERSION",
    "certification",
    "refuted_lines",
    "report_page",
    "summary_lines",
    "write_reports",
]

#: 2: fields, groups and latency per endpoint, fields across endpoints, the latency budget,
#: the verdict "slower".
SCHEMA_VERSION = 2
_RISK = {
    Verdict.FAILED: 0,
    Verdict.SLOWER: 1,
    Verdict.INSUFFICIENT: 2,
    Verdict.SKIPPED: 3,
    Verdict.CERTIFIED: 4,
}


def certification(state: RunState) -> dict[str, Any]:
    """A run's certification as JSON-compatible values, from its state (one process's,
    or the sum of a run's shards')."""
    endpoints = []
    fields = Fields()
    for endpoint in sorted(state.tallies):
        threshold, samples, shape = state.terms[endpoint]
        tally = state.tallies[endpoint]
        record = tally.to_record(threshold, samples, state.noise, budget=state.budget)
        record["profile"] = shape
        endpoints.append(record)
        fields.merge(tally.fields, endpoint, tally.compared)
    endpoints.sort(key=lambda e: (_RISK[Verdict(e["verdict"])], -(e["mismatched"] + e["error"])))
    verdicts = [Verdict(e["verdict"]) for e in endpoints]
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **state.inputs,
        "summary": {v.value: verdicts.count(v) for v in Verdict},
        "endpoints": endpoints,
        "fields": fields.to_records(),
    }


def summary_lines(document: dict[str, Any]) -> Iterator[str]:
    """The table printed at the end of a run, from its certification."""
    if not document["endpoints"]:
        yield "parity: no recorded exchanges were replayed"
        return
    rows = [
        (
            "endpoint",
            "replayed",
            "matched",
            "mismatched",
            "errors",
            "skipped",
            "rate",
            "p99 ms monolith/candidate",
            "verdict",
        )
    ]
    for e in document["endpoints"]:
        rate = "-" if e["match_rate"] is None else f"{100 * e['match_rate']:.1f}%"
        blind = e["blind"]["values"]
        verdict = e["verdict"] + (f" ({blind} blind)" if blind and e["verdict_note"] else "")
        rows.append(
            (
                e["endpoint"],
                str(e["replayed"]),
                str(e["matched"]),
                str(e["mismatched"]),
                str(e["error"]),
                str(e["skipped"]),
                rate,
                _p99(e["latency"]),
                verdict,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    yield ""
    yield "parity certification"
    for number, row in enumerate(rows):
        cells = [
            c.ljust(w) if i in (0, 8) else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        yield "  ".join(cells).rstrip()
        if number == 0:
            yield "  ".join("-" * w for w in widths)
    summary = document["summary"]
    slower = f"{summary['slower']} slower, " if summary["slower"] else ""
    yield (
        f"{summary['certified']} certified, {summary['failed']} failed, {slower}"
        f"{summary['insufficient samples']} with insufficient samples, {summary['skipped']} skipped"
    )
    budget = document["max_p99_ratio"]
    if budget is not None:
        unmeasured = [
            e["endpoint"]
            for e in document["endpoints"]
            if e["replayed"] and e["latency"]["p99_ratio"] is None
        ]
        yield (
            f"latency budget: the candidate's p99 may be at most {budget:g}x the monolith's"
            + (
                f"; not checked on {len(unmeasured)} endpoint(s) whose recording has no answer "
                "times"
                if unmeasured
                else ""
            )
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


def refuted_lines(state: RunState) -> Iterator[str]:
    """One line per noisy path whose noise the run's totals refuted."""
    for endpoint, noisy, why in state.vetoed():
        yield (
            f"parity: {endpoint}: noise at {noisy} does not explain the candidate's "
            f"differences ({why}); they count as mismatches"
        )


def write_reports(
    directory: Path, document: dict[str, Any], state: RunState | None = None
) -> list[Path]:
    """Write certification.json and report.html into `directory`, and the `state` they
    came from (`replayer.state.STATE_FILE`), which ``parity report merge`` reads."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    files = [
        ("certification.json", json.dumps(document, indent=2, ensure_ascii=False) + "\n"),
        ("report.html", render_html(document)),
    ]
    if state is not None:
        files.append((STATE_FILE, json.dumps(state.to_json(), ensure_ascii=False) + "\n"))
    for name, text in files:
        path = directory / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        # A lone surrogate (half an emoji a candidate escaped, or a byte that was not
        # UTF-8) cannot be written as UTF-8: it is written as the text of its escape.
        escape = _SURROGATE_IN_JSON if name.endswith(".json") else _SURROGATE_IN_TEXT
        tmp.write_bytes(written_utf8(text, escape))
        os.replace(tmp, path)
        written.append(path)
    return written


def report_page(
    certification: dict[str, Any] | None,
    live: dict[str, Any] | None,
    *,
    certification_file: str | None = None,
    live_file: str | None = None,
) -> bytes:
    """report.html, as UTF-8, from a replay's certification.json, the gateway's live.json,
    or both (either may be None). A `UsageError` names the file (`certification_file`,
    `live_file`) when it is of a newer schema or not a file Parity wrote."""
    version = (certification or {}).get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or not 1 <= version <= SCHEMA_VERSION:
        raise UsageError(
            f"{certification_file} is certification.json schema version {version!r}, which "
            f"this Parity (schema {SCHEMA_VERSION}) cannot read: upgrade Parity"
        )
    document: dict[str, Any] = certification or {
        "target": "-",
        "store": "-",
        "summary": {},
        "endpoints": [],
        "generated_at": (live or {}).get("generated_at", "-"),
    }
    try:
        page = render_html(document, live)
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        raise UsageError(
            f"{certification_file or live_file} is not a certification.json or live.json "
            f"that Parity wrote ({type(exc).__name__}: {exc}); give the file a replay or "
            "the gateway wrote"
        ) from None
    return written_utf8(page)


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


def _p99(latency: dict[str, Any]) -> str:
    """Both sides' p99 answer times and their ratio, as the terminal table shows them."""
    monolith, candidate = latency["monolith_ms"]["p99"], latency["candidate_ms"]["p99"]
    if monolith is None and candidate is None:
        return "-"
    shown = "/".join("-" if value is None else f"{value:.1f}" for value in (monolith, candidate))
    ratio = latency["p99_ratio"]
    return shown + (f" ({ratio:.2f}x)" if ratio is not None else "")
