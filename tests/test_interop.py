"""Import and export: HAR, vcrpy cassettes, JSON Lines, round trips, and bad files."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from pathlib import Path

import orjson
import pytest
import requests
import vcr
import yaml

from parity.cli import main as parity_main
from parity.interop.cassette import read_cassette, write_cassette
from parity.interop.common import FormatError
from parity.interop.har import read_har, write_har
from parity.interop.importing import import_files, read_jsonl
from parity.store import iter_exchanges, open_store
from parity.traffic.endpoint import identify
from tests.test_fixtures import FIXTURES

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def recorded() -> list:
    return list(iter_exchanges(open_store(FIXTURES)))


def records(exchanges) -> list[dict]:
    return [exchange.to_record() for exchange in exchanges]


def test_store_to_har_to_store_keeps_everything(recorded, tmp_path) -> None:
    write_har(recorded, tmp_path / "all.har")
    assert records(read_har(tmp_path / "all.har")) == records(recorded)


def test_store_to_cassette_to_store_keeps_everything(recorded, tmp_path) -> None:
    assert write_cassette(recorded, tmp_path / "all.yaml") == (len(recorded), 0)
    assert records(read_cassette(tmp_path / "all.yaml")) == records(recorded)


def _standard(exchange) -> tuple:
    """What HAR and cassettes hold in their own fields."""
    request, response = exchange.request, exchange.response
    return (
        request.method,
        request.url,
        request.headers.fields,
        request.body.content,
        response.status,
        response.headers.fields,
        response.body.content,
    )


def test_the_formats_own_fields_hold_the_http_without_the_extension(recorded, tmp_path) -> None:
    write_har(recorded, tmp_path / "all.har")
    document = orjson.loads((tmp_path / "all.har").read_bytes())
    for entry in document["log"]["entries"]:
        del entry["_parity"]
    (tmp_path / "plain.har").write_bytes(orjson.dumps(document))
    assert [_standard(e) for e in read_har(tmp_path / "plain.har")] == [
        _standard(e) for e in recorded
    ]
    write_cassette(recorded, tmp_path / "all.yaml")
    cassette = yaml.safe_load((tmp_path / "all.yaml").read_text())
    for interaction in cassette["interactions"]:
        del interaction["parity"]
    (tmp_path / "plain.yaml").write_text(yaml.safe_dump(cassette))
    back = list(read_cassette(tmp_path / "plain.yaml"))
    # Headers group by name in a cassette, and Content-Length states the body's own length.
    for before, after in zip(recorded, back, strict=True):
        assert (after.request.method, after.request.url, after.request.body.content) == (
            before.request.method,
            before.request.url,
            before.request.body.content,
        )
        assert (after.response.status, after.response.reason, after.response.body.content) == (
            before.response.status,
            before.response.reason,
            before.response.body.content,
        )
        assert sorted(after.request.headers.fields) == sorted(before.request.headers.fields)


def test_an_exported_cassette_replays_under_plain_vcrpy_with_requests(tmp_path) -> None:
    assert (
        parity_main(
            [
                "export",
                str(FIXTURES),
                "--to",
                "vcr",
                "--out",
                str(tmp_path),
                "--endpoint",
                "GET /api/users/{id}",
            ]
        )
        == 0
    )
    cassette = tmp_path / "GET_api_users_id.yaml"
    interactions = yaml.safe_load(cassette.read_text())["interactions"]
    first = interactions[0]
    with vcr.use_cassette(str(cassette), record_mode="none"):
        answer = requests.get(first["request"]["uri"], timeout=5)
    assert answer.status_code == first["response"]["status"]["code"]
    assert answer.json() == json.loads(first["response"]["body"]["string"])
    thumbnails = tmp_path / "png"
    assert (
        parity_main(
            [
                "export",
                str(FIXTURES),
                "--to",
                "vcr",
                "--out",
                str(thumbnails),
                "--endpoint",
                "GET /api/courses/{uuid}/thumbnail.png",
            ]
        )
        == 0
    )
    (png,) = thumbnails.glob("*.yaml")
    uri = yaml.safe_load(png.read_text())["interactions"][0]["request"]["uri"]
    with vcr.use_cassette(str(png), record_mode="none"):
        image = requests.get(uri, timeout=5)
    assert image.content.startswith(b"\x89PNG")


def test_a_har_from_chromium_imports_with_its_binary_and_posted_bodies() -> None:
    exchanges = list(read_har(DATA / "chromium.har"))
    assert [(e.request.method, e.request.path, e.response.status) for e in exchanges] == [
        ("GET", "/api/users/1", 200),
        ("GET", "/api/courses/76931aaf-e471-4e58-aa9a-7a79279a14df/thumbnail.png", 200),
        ("GET", "/api/users/99", 404),
        ("GET", "/api/search", 200),
        ("POST", "/graphql", 200),
        ("POST", "/api/users/1/enrolments", 400),
    ]
    png = exchanges[1].response.body
    assert png.content.startswith(b"\x89PNG") and png.text() is None
    assert exchanges[3].request.query.fields == (("q", "python"), ("tag", "web"))
    assert json.loads(exchanges[4].request.body.content)["variables"] == {"id": "2"}
    assert exchanges[5].request.body.content.startswith(b"course_id=")
    assert json.loads(exchanges[0].response.body.content)["id"] == 1


def test_import_names_endpoints_and_sanitises(tmp_path, capsys) -> None:
    out = tmp_path / "store"
    assert (
        parity_main(["import", "--from", "har", str(DATA / "chromium.har"), "--to", str(out)]) == 0
    )
    assert "imported 6 exchanges (sanitised)" in capsys.readouterr().out
    stored = list(iter_exchanges(open_store(out)))
    assert {e.endpoint for e in stored} >= {"GET /api/users/{id}", "graphql query GetUser"}
    assert all("sanitised" in e.meta for e in stored)
    everything = json.dumps(records(stored))
    assert "ada.lovelace" not in everything.lower()  # the example users' emails are gone


def test_jsonl_records_import_as_they_are(recorded, tmp_path) -> None:
    lines = b"".join(orjson.dumps(e.to_record()) + b"\n" for e in recorded[:5])
    (tmp_path / "some.jsonl").write_bytes(lines)
    imported = import_files(read_jsonl, [tmp_path / "some.jsonl"], sanitiser=None)
    assert records(imported.exchanges) == records(recorded[:5])


@pytest.mark.parametrize(
    ("side", "field", "value", "problem"),
    [
        ("request", "timestamp_start", 1e20, "its request timestamp_start 1e+20 is not a time"),
        ("request", "timestamp_start", -5.0, "its request timestamp_start -5.0 is not a time"),
        ("response", "timestamp_end", 1e300, "its response timestamp_end 1e+300 is not a time"),
        ("request", "timestamp_end", "soon", "its request timestamp_end is 'soon', not a number"),
    ],
)
def test_out_of_range_times_name_the_entry_in_one_sentence(
    recorded, tmp_path, capsys, side, field, value, problem
) -> None:
    records_ = [e.to_record() for e in recorded[:3]]
    records_[1][side][field] = value
    (tmp_path / "some.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records_))
    args = [
        "import",
        "--from",
        "jsonl",
        str(tmp_path / "some.jsonl"),
        "--to",
        str(tmp_path / "s"),
        "--sanitize",
        "off",
    ]
    assert parity_main(args) == 2
    err = capsys.readouterr().err
    assert f"some.jsonl: entry 2: {problem}" in err and "Traceback" not in err
    assert parity_main([*args, "--skip-bad"]) == 0
    assert len(list(iter_exchanges(open_store(tmp_path / "s")))) == 2


def test_an_imported_name_that_does_not_fit_its_request_is_replaced(recorded, tmp_path) -> None:
    # A HAR's _parity.endpoint can say anything; the name decides what may be replayed.
    forged = [
        dataclasses.replace(
            e,
            request=dataclasses.replace(e.request, method=method),
            endpoint="graphql query ListUsers",
        )
        for e, method in zip(recorded[:2], ("DELETE", "POST"), strict=True)
    ]
    write_har(forged, tmp_path / "forged.har")
    imported = import_files(read_har, [tmp_path / "forged.har"], sanitiser=None).exchanges
    assert [e.endpoint.split(" ")[0] for e in imported] == ["DELETE", "POST"]
    assert all(e.endpoint == identify(e.request) for e in imported)
    kept = import_files(read_har, [_har_of(recorded[:3], tmp_path)], sanitiser=None).exchanges
    assert [e.endpoint for e in kept] == [e.endpoint for e in recorded[:3]]


def _har_of(exchanges, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    write_har(exchanges, tmp_path / "kept.har")
    return tmp_path / "kept.har"


BAD = {
    "har": [
        ("not.har", b'{"log": 3', r"not\.har: the file: is not JSON"),
        ("empty.har", b"{}", r"empty\.har: the file: is not a HAR: it has no log\.entries"),
    ],
    "vcr": [
        ("bad.yaml", b"interactions: [\n  - request: {\n", r"bad\.yaml: line 2, column 3: is not"),
        ("none.yaml", b"version: 1\n", r"none\.yaml: the file: is not a vcrpy cassette"),
    ],
    "jsonl": [("bad.jsonl", b'{"v": 1}\nnot json\n', r"bad\.jsonl: line 1: is not a Parity")],
}


@pytest.mark.parametrize(
    ("fmt", "name", "content", "message"),
    [(f, *case) for f, cases in BAD.items() for case in cases],
)
def test_malformed_files_are_one_sentence_naming_the_file_and_place(
    tmp_path, capsys, fmt, name, content, message
) -> None:
    (tmp_path / name).write_bytes(content)
    assert (
        parity_main(
            ["import", "--from", fmt, str(tmp_path / name), "--to", str(tmp_path / "store")]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("parity: error: ") and len(err.strip().splitlines()) == 1
    assert re.search(message, err), err
    assert not (tmp_path / "store").exists()


def test_a_bad_entry_stops_the_import_unless_bad_entries_are_skipped(tmp_path, capsys) -> None:
    document = orjson.loads((DATA / "chromium.har").read_bytes())
    del document["log"]["entries"][2]["response"]["status"]
    document["log"]["entries"][4]["response"]["content"] = {
        "size": 3,
        "text": "%%%",
        "encoding": "base64",
    }
    (tmp_path / "broken.har").write_bytes(orjson.dumps(document))
    args = ["import", "--from", "har", str(tmp_path / "broken.har"), "--to", str(tmp_path / "s")]
    assert parity_main(args) == 2
    err = capsys.readouterr().err
    assert (
        "broken.har: entry 2 (GET http://127.0.0.1:8031/api/users/99): has no 'status' field" in err
    )
    assert not (tmp_path / "s").exists()  # nothing partial
    assert parity_main([*args, "--skip-bad"]) == 0
    captured = capsys.readouterr()
    assert "entry 4 (POST http://127.0.0.1:8031/graphql): has a body that is not valid base64" in (
        captured.err
    )
    assert "imported 4 exchanges" in captured.out and "2 bad entries skipped" in captured.out
    assert len(list(iter_exchanges(open_store(tmp_path / "s")))) == 4


def test_har_export_opens_as_har_with_base64_for_binary_bodies(recorded, tmp_path) -> None:
    write_har(recorded, tmp_path / "all.har")
    log = orjson.loads((tmp_path / "all.har").read_bytes())["log"]
    assert log["version"] == "1.2" and log["creator"]["name"] == "parity"
    png = next(e for e in log["entries"] if e["request"]["url"].endswith(".png"))
    assert png["response"]["content"]["encoding"] == "base64"
    assert base64.b64decode(png["response"]["content"]["text"]).startswith(b"\x89PNG")
    for entry in log["entries"]:
        assert {"startedDateTime", "time", "request", "response", "cache", "timings"} <= set(entry)


def test_export_and_pull_refuse_what_they_cannot_do(tmp_path, capsys) -> None:
    assert (
        parity_main(
            [
                "export",
                str(FIXTURES),
                "--to",
                "har",
                "--out",
                str(tmp_path / "x.har"),
                "--endpoint",
                "GET /nothing",
            ]
        )
        == 2
    )
    assert "nothing to export" in capsys.readouterr().err
    with pytest.raises(FormatError):
        list(read_har(tmp_path / "missing.har"))


@pytest.mark.s3
def test_pull_copies_a_reproducible_stratified_sample_from_a_bucket(
    recorded, moto_endpoint, s3_bucket, tmp_path, capsys
) -> None:
    from parity.store import write_exchanges

    bucket = f"s3://{s3_bucket}/traffic?endpoint_url={moto_endpoint}"
    write_exchanges(open_store(bucket), recorded, "prod")
    first, second, other = tmp_path / "one", tmp_path / "two", tmp_path / "three"
    for out, seed in ((first, "1"), (second, "1"), (other, "2")):
        assert parity_main(["pull", bucket, str(out), "--per-endpoint", "2", "--seed", seed]) == 0
    assert "pulled 40 exchanges of 20 endpoints" in capsys.readouterr().out

    def ids(directory: Path) -> list[str]:
        return [e.id for e in iter_exchanges(open_store(directory))]

    assert ids(first) == ids(second) != ids(other)
    per_endpoint: dict[str, int] = {}
    for exchange in iter_exchanges(open_store(first)):
        per_endpoint[exchange.endpoint] = per_endpoint.get(exchange.endpoint, 0) + 1
    assert max(per_endpoint.values()) == 2 and len(per_endpoint) == 20
    pulled = {e.id: e.to_record() for e in iter_exchanges(open_store(first))}
    assert all(pulled[e.id] == e.to_record() for e in recorded if e.id in pulled)
    assert parity_main(["pull", bucket, str(first), "--per-endpoint", "2"]) == 2
    assert "already holds segments" in capsys.readouterr().err


def test_pull_refuses_a_store_with_a_segment_copied_in_twice(recorded, tmp_path, capsys) -> None:
    from parity.store import write_exchanges

    source = tmp_path / "source"
    write_exchanges(open_store(source), recorded, "prod")
    segment = min(source.rglob("prod-*"))
    # As a user copies a file back in: the same bytes under another recorder's name.
    segment.with_name(segment.name.replace("prod-", "prodcopy-")).write_bytes(segment.read_bytes())
    out = tmp_path / "sample"
    assert parity_main(["pull", str(source), str(out), "--per-endpoint", "2"]) != 0
    err = capsys.readouterr().err
    named = re.search(r"exchange (\S+) is in the store more than once \(a segment copied", err)
    assert named and named.group(1) in {e.id for e in recorded}, err
    assert "Traceback" not in err
    assert not list(out.rglob("*.jsonl*"))  # nothing copied


def test_cassettes_of_dependency_calls_import_as_outbound_calls(recorded, tmp_path) -> None:
    from replayer.selection import Selection, plan

    write_cassette(recorded[:3], tmp_path / "deps.yaml")
    assert (
        parity_main(
            [
                "import",
                "--from",
                "vcr",
                str(tmp_path / "deps.yaml"),
                "--to",
                str(tmp_path / "s"),
                "--outbound",
                "--sanitize",
                "off",
            ]
        )
        == 0
    )
    store = open_store(tmp_path / "s")
    assert all(e.meta.get("outbound") for e in iter_exchanges(store))
    seen: list = []
    assert plan(store, Selection(), on_outbound=seen.append) == []  # never tests
    assert len(seen) == 3


def test_a_line_too_long_to_hold_is_read_past_and_named(recorded, tmp_path, capsys) -> None:
    from parity.store.reader import MAX_FRAME_BYTES

    path = tmp_path / "long.jsonl"
    with path.open("wb") as out:
        out.write(orjson.dumps(recorded[0].to_record()) + b"\n")
        out.write(b'{"junk": "' + b"x" * (MAX_FRAME_BYTES + 10) + b'"}\n')
        out.write(orjson.dumps(recorded[1].to_record()) + b"\n")
    args = [
        "import",
        "--from",
        "jsonl",
        str(path),
        "--to",
        str(tmp_path / "s"),
        "--sanitize",
        "off",
        "--skip-bad",
    ]
    assert parity_main(args) == 0
    err = capsys.readouterr().err
    assert f"long.jsonl: line 2: is longer than {MAX_FRAME_BYTES} bytes" in err
    assert len(list(iter_exchanges(open_store(tmp_path / "s")))) == 2


def test_formats_are_chosen_by_name_and_an_unknown_one_lists_the_names() -> None:
    from parity.errors import UsageError
    from parity.interop.registry import READERS, WRITERS, reader_for, writer_for

    assert reader_for("har") is read_har
    assert set(READERS) == {"har", "vcr", "jsonl"}
    assert list(WRITERS) == ["vcr", "har"]
    with pytest.raises(UsageError) as refused:
        writer_for("json")
    assert (
        str(refused.value) == "'json' is not a format Parity can export; the formats are vcr, har"
    )
    with pytest.raises(UsageError, match=r"the formats are har, vcr, jsonl$"):
        reader_for("mitmproxy")
