from __future__ import annotations

import json
import os
import subprocess
import sys

import orjson
import pytest
import zstandard

from parity.cli import main
from parity.store import open_store, write_exchanges
from tests.factories import T0, make_exchange, make_exchanges, make_request, make_response


@pytest.fixture
def store_dir(tmp_path):
    store = open_store(tmp_path / "traffic")
    exchanges = make_exchanges(30, step=120)  # one hour
    exchanges.append(
        make_exchange(
            T0 + 10,
            request=make_request(method="POST", path="/graphql", timestamp_start=T0 + 10),
            response=None,
            error="upstream refused the connection",
            endpoint="graphql query GetUser",
        )
    )
    exchanges.append(
        make_exchange(T0 + 20, response=make_response(status=404), endpoint="GET /api/users/{id}")
    )
    write_exchanges(store, exchanges, "rec-a", max_records=10)
    return tmp_path / "traffic"


def test_help_lists_the_commands(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "ls" in out
    assert "show" in out


def test_the_console_script_is_installed() -> None:
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "parity"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "commands:" in result.stdout


def test_ls_summarises_per_endpoint(store_dir, capsys) -> None:
    assert main(["ls", str(store_dir)]) == 0
    out = capsys.readouterr().out
    assert "32 exchanges on 2 endpoints in 4 segments" in out
    assert "from 2026-11-23 10:00:00.000 to 2026-11-23 10:58:00.000 UTC" in out
    row = next(line for line in out.splitlines() if line.startswith("GET /api/users/{id}"))
    assert row.split()[2:6] == ["31", "0", "200x30", "404x1"]
    graphql = next(line for line in out.splitlines() if line.startswith("graphql query GetUser"))
    assert graphql.split()[3:6] == ["1", "1", "-"]


def test_ls_json_and_time_range(store_dir, capsys) -> None:
    assert (
        main(
            [
                "ls",
                str(store_dir),
                "--json",
                "--since",
                "2026-11-23T10:30",
                "--until",
                "2026-11-23T10:40",
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["exchanges"] == 5
    assert summary["endpoints"][0]["statuses"] == {"200": 5}


def test_ls_reports_a_damaged_segment_and_keeps_the_rest(store_dir, capsys) -> None:
    segment = sorted(store_dir.rglob("*.jsonl.zst"))[0]
    data = segment.read_bytes()
    segment.write_bytes(data[: len(data) // 2])
    assert main(["ls", str(store_dir)]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("parity: warning: segment date=2026-11-23/hour=10/rec-a-000000") == 1
    assert "exchanges on 2 endpoints" in captured.out


def test_ls_on_a_missing_store_is_one_sentence_and_exit_2(tmp_path, capsys) -> None:
    assert main(["ls", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("parity: error: store ")
    assert err.count("\n") == 1


def test_ls_refuses_a_store_of_a_newer_format(tmp_path, capsys) -> None:
    record = make_exchange().to_record()
    record["v"] = 42
    path = tmp_path / "date=2026-11-23" / "hour=10" / "rec-a-000000.jsonl.zst"
    path.parent.mkdir(parents=True)
    path.write_bytes(zstandard.ZstdCompressor().compress(orjson.dumps(record) + b"\n"))
    assert main(["ls", str(tmp_path)]) == 2
    assert "format version 42" in capsys.readouterr().err


def test_show_prints_an_exchange_as_http_messages(tmp_path, capsys) -> None:
    exchange = make_exchange(
        request=make_request(
            method="POST", path="/api/users", query=[("dry", "1")], body=b'{"name": "Ada"}'
        ),
        response=make_response(status=201, reason="Created", body=b"\x89PNG\r\n\x1a\n\x00"),
    )
    write_exchanges(open_store(tmp_path), [*make_exchanges(5), exchange], "rec-a")
    assert main(["show", str(tmp_path), exchange.id]) == 0
    out = capsys.readouterr().out
    assert f"exchange {exchange.id}" in out
    assert "POST http://monolith.test:8000/api/users?dry=1 HTTP/1.1" in out
    assert '{"name": "Ada"}' in out
    assert "HTTP/1.1 201 Created" in out
    assert "<binary body: 9 bytes, sha256" in out

    assert main(["show", str(tmp_path), exchange.id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == exchange.id


def test_show_an_unknown_id_says_so(tmp_path, capsys) -> None:
    write_exchanges(open_store(tmp_path), make_exchanges(2), "rec-a")
    assert main(["show", str(tmp_path), "01KAQ3Z5V8C9P8N1T0JZ4W7M2R"]) == 1
    assert "no exchange with id 01KAQ3Z5V8C9P8N1T0JZ4W7M2R" in capsys.readouterr().err


def test_a_bad_time_is_a_usage_error(store_dir, capsys) -> None:
    assert main(["ls", str(store_dir), "--since", "yesterday-ish"]) == 2
    assert "cannot read 'yesterday-ish' as a time" in capsys.readouterr().err


def test_report_refuses_a_certification_of_a_newer_schema(tmp_path, capsys) -> None:
    newer = tmp_path / "certification.json"
    newer.write_text(json.dumps({"schema_version": 99, "endpoints": []}))
    out = tmp_path / "report.html"
    assert main(["report", "--certification", str(newer), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "schema version 99, which this Parity (schema 2) cannot read: upgrade Parity" in error
    assert "Traceback" not in error and not out.exists()
