"""The configuration file: found, read, and refused with a sentence when it is wrong."""

from __future__ import annotations

import pytest

from parity.config import Threshold, find_config, load_config
from parity.errors import UsageError


def test_parity_toml_wins_over_pyproject(tmp_path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.parity.replay]\nfrom = "a"\n')
    assert find_config(tmp_path) == tmp_path / "pyproject.toml"
    assert load_config(find_config(tmp_path)).replay_value("from") == "a"
    (tmp_path / "parity.toml").write_text('[replay]\nfrom = "b"\n')
    assert load_config(find_config(tmp_path)).replay_value("from") == "b"


def test_a_pyproject_without_tool_parity_is_no_config(tmp_path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert find_config(tmp_path) is None
    assert load_config(None).replay_value("from") is None


def test_thresholds_as_numbers_or_tables(tmp_path) -> None:
    path = tmp_path / "parity.toml"
    path.write_text('[thresholds]\n"GET /a" = 0.9\n"GET /b/*" = { min_samples = 20 }\n')
    assert load_config(path).thresholds == (
        Threshold("GET /a", 0.9, None),
        Threshold("GET /b/*", None, 20),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[replay]\nform = "x"\n', "unknown key(s) form; the keys are from, target"),
        ("[replay]\nper_endpoint = 'ten'\n", "per_endpoint must be an integer, not 'ten'"),
        ("[replay]\nunsafe = 1\n", "unsafe must be true or false"),
        ("[replay]\nthreshold = true\n", "threshold must be a number"),
        ("[replay]\nsafe = [1]\n", "safe must be a list of strings"),
        ("[replay]\nendpoints = 'GET /x'\n", "endpoints must be a list of strings"),
        ("[thresholds]\n'GET /a' = 'high'\n", "must be a match rate such as 0.95"),
        ("[thresholds]\n'GET /a' = { rate = 1 }\n", "unknown key(s) rate"),
        ("[nonsense]\n", "unknown key(s) nonsense"),
        ("replay = 3\n", "replay must be a table"),
        ("[replay\n", "is not valid TOML"),
    ],
)
def test_mistakes_are_named(tmp_path, text, message) -> None:
    path = tmp_path / "parity.toml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(path)
