"""Reading the tables of Parity's TOML files: one check for unknown keys and one for
types, so that every file says what is wrong in the same words, naming where.

Used by the configuration file (`parity.config`), its ``[compare]``,
``[noise]`` and ``[sanitize]`` tables, and the routing table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from parity.errors import UsageError

__all__ = ["check_keys", "check_type", "subtable"]

_TYPE_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "a list of strings",
    dict: "a table",
}


def check_keys(table: Mapping[str, Any], keys: Iterable[str], where: str) -> None:
    """Refuse a key of `table` that is not one of `keys`, naming it, where, and the keys."""
    allowed = tuple(keys)
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise UsageError(
            f"{where} has unknown key(s) {', '.join(unknown)}; the keys are {', '.join(allowed)}"
        )


def check_type(value: Any, kind: type | tuple[type, ...], where: str) -> None:
    """Refuse a value not of `kind`. TOML's true is an int to Python; it is never a number
    or a count here."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds):
        return
    expected = "a number" if float in kinds else _TYPE_NAMES.get(kinds[0], kinds[0].__name__)
    raise UsageError(f"{where} must be {expected}, not {value!r}")


def subtable(table: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    """`table[key]`, a table (empty when absent)."""
    value = table.get(key, {})
    if not isinstance(value, dict):
        raise UsageError(f"{where} {key} must be a table, as in [tool.parity.{key}]")
    return value
