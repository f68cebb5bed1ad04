"""`parity record` and `parity shadow` refuse what will not work before they listen."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from examples.processes import parity
from tests.conftest import free_port

pytestmark = pytest.mark.e2e


def started(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        parity(*args),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


def record(tmp_path: Path, *extra: str, store: str | None = None, **env: str):  # type: ignore[no-untyped-def]
    return started(
        "record",
        "--upstream",
        f"http://127.0.0.1:{free_port()}",
        "--listen",
        f"127.0.0.1:{free_port()}",
        "--store",
        store or str(tmp_path / "t"),
        "--set",
        f"parity_spool_dir={tmp_path / 'spool'}",
        *extra,
        cwd=tmp_path,
        env=env,
    )


def refused(done: subprocess.CompletedProcess, *words: str) -> None:
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output and "listening" not in output.lower(), output
    [line] = output.strip().splitlines()  # one sentence
    assert line.startswith("parity: error: "), line
    for word in words:
        assert word in line, line


BAD_OPTIONS = {
    "a sample rate above 1": (["--set", "parity_sample_rate=2"], ["parity_sample_rate", "0 to 1"]),
    "a missing config file": (["--set", "parity_config=/nonexistent.toml"], ["is not a file"]),
    "a misspelled option": (
        ["--set", "parity_sampel_rate=0.5"],
        ["unknown option parity_sampel_rate", "parity_sample_rate?"],
    ),
    "a number that is not one": (["--set", "parity_max_body=abc"], ["parity_max_body=abc"]),
    "a bad filter": (["--set", "parity_filter=~q ("], ["parity_filter"]),
    "bodies no reader holds": (
        ["--set", f"parity_max_body={9 << 20}"],
        ["parity_max_body", "larger than a reader holds"],
    ),
}


@pytest.mark.parametrize(("extra", "words"), BAD_OPTIONS.values(), ids=BAD_OPTIONS.keys())
def test_record_refuses_bad_options_in_one_sentence(tmp_path, extra, words) -> None:
    refused(record(tmp_path, *extra), *words)


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ("not = [toml\n", ["is not valid TOML"]),
        ('[sanitize]\nrules = [{ header = "Authorization", action = "explode" }]\n', ["explode"]),
    ],
    ids=["not TOML", "a bad sanitize action"],
)
def test_record_refuses_a_bad_config_file(tmp_path, config, words) -> None:
    (tmp_path / "parity.toml").write_text(config)
    refused(record(tmp_path, "--set", f"parity_config={tmp_path / 'parity.toml'}"), *words)


def test_record_refuses_a_store_it_cannot_write_unless_told_to_wait(tmp_path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file, not a directory")
    refused(record(tmp_path, store=str(blocked / "traffic")), "cannot be written")


def test_record_refuses_an_s3_store_it_cannot_reach(tmp_path) -> None:
    closed = f"s3://bucket/p?endpoint_url=http://127.0.0.1:{free_port()}"
    fake = {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
    }
    refused(record(tmp_path, store=closed, **fake), "cannot reach the S3 endpoint")


def test_shadow_refuses_a_misspelled_option_and_a_bad_recorder_option(tmp_path) -> None:
    (tmp_path / "routes.toml").write_text('default = "side-by-side"\n')
    common = [
        "shadow",
        "--monolith",
        f"http://127.0.0.1:{free_port()}",
        "--candidate",
        f"http://127.0.0.1:{free_port()}",
        "--routes",
        "routes.toml",
        "--listen",
        f"127.0.0.1:{free_port()}",
    ]
    refused(
        started(*common, "--set", "parity_mirror_concurency=3", cwd=tmp_path),
        "parity_mirror_concurrency?",
    )
    refused(
        started(
            *common, "--store", str(tmp_path / "t"), "--set", "parity_sample_rate=-1", cwd=tmp_path
        ),
        "parity_sample_rate",
    )


def test_mitmdump_with_the_addon_stops_on_a_misspelled_option(tmp_path) -> None:
    import sys

    import recorder.addon

    mitmdump = Path(sys.executable).with_name("mitmdump")
    done = subprocess.run(
        [
            str(mitmdump),
            "-s",
            recorder.addon.__file__,
            "--listen-host",
            "127.0.0.1",
            "--listen-port",
            str(free_port()),
            "--set",
            f"parity_store={tmp_path / 't'}",
            "--set",
            f"parity_spool_dir={tmp_path / 'spool'}",
            "--set",
            "parity_sampel_rate=0.5",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "unknown option parity_sampel_rate; did you mean parity_sample_rate?" in output
    assert "not recording" in output and "Traceback" not in output
    assert "could not reach the store" not in output  # nothing was pending
    assert not (tmp_path / "t").exists()
