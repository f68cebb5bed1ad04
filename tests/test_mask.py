"""parity mask: test data masked into exactly the pseudonyms the recordings hold."""

from __future__ import annotations

import csv
import json

import orjson
import pytest

from parity.cli import main
from parity.sanitize.engine import Sanitiser
from parity.sanitize.pseudonym import Pseudonymiser
from tests.factories import make_exchange, make_request, make_response

KEY = "mask test key"
USER = {"id": 7, "name": "Ada Lovelace", "email": "ada.lovelace@corp.example.org", "plan": "pro"}


def recorded_user(monkeypatch) -> dict:
    """The user as a recording made with the same key stores it."""
    monkeypatch.setenv("PARITY_SANITIZE_KEY", KEY)
    exchange = make_exchange(
        request=make_request(path="/api/users/7"),
        response=make_response(
            headers=[("Content-Type", "application/json")], body=orjson.dumps(USER)
        ),
    )
    clean = Sanitiser(Pseudonymiser(KEY.encode()))(exchange)
    return json.loads(clean.response.body.content)


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_masked_data_holds_the_recordings_pseudonyms(tmp_path, monkeypatch, capsys, fmt) -> None:
    monkeypatch.chdir(tmp_path)
    recorded = recorded_user(monkeypatch)
    source = tmp_path / f"users.{fmt}"
    if fmt == "json":
        source.write_bytes(orjson.dumps([USER, {**USER, "id": 8, "email": "x@corp.example.org"}]))
    elif fmt == "jsonl":
        source.write_bytes(orjson.dumps(USER) + b"\n\n" + orjson.dumps({**USER, "id": 8}) + b"\n")
    else:
        with source.open("w", newline="") as stream:
            writer = csv.DictWriter(stream, list(USER))
            writer.writeheader()
            writer.writerow(USER)
    target = tmp_path / f"masked.{fmt}"
    assert main(["mask", str(source), "--out", str(target)]) == 0
    assert "parity: masked" in capsys.readouterr().out
    if fmt == "json":
        masked = json.loads(target.read_text())[0]
    elif fmt == "jsonl":
        masked = json.loads(target.read_text().splitlines()[0])
        assert len(target.read_text().splitlines()) == 2
    else:
        with target.open(newline="") as stream:
            masked = next(csv.DictReader(stream))
        masked["id"] = int(masked["id"])
    assert masked == recorded
    assert masked["email"] != USER["email"]
    assert masked["plan"] == "pro"


def test_bad_inputs_are_one_sentence(tmp_path, capsys) -> None:
    (tmp_path / "data.txt").write_text("x")
    assert main(["mask", str(tmp_path / "data.txt"), "--out", str(tmp_path / "o")]) == 2
    assert "cannot tell the format of" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": 1}\n{not json}\n')
    assert main(["mask", str(bad), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert "bad.jsonl line 2 is not JSON" in capsys.readouterr().err
    assert main(["mask", str(bad), "--out", str(bad)]) == 2
    assert "is the input file" in capsys.readouterr().err
    assert main(["mask", str(tmp_path / "none.json"), "--out", str(tmp_path / "o.json")]) == 2
    assert "cannot mask" in capsys.readouterr().err


def test_without_a_key_it_says_so(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PARITY_SANITIZE_KEY", raising=False)
    (tmp_path / "u.json").write_bytes(orjson.dumps(USER))
    assert main(["mask", str(tmp_path / "u.json"), "--out", str(tmp_path / "m.json")]) == 0
    assert "$PARITY_SANITIZE_KEY is not set, so values are redacted" in capsys.readouterr().err
    assert json.loads((tmp_path / "m.json").read_text())["email"] == "[redacted:email]"
