"""`ReplayConfig`: how a project adapts recorded requests to its candidate, declared in conftest.py.

Declared the way a fixture is, by name in the project's ``conftest.py``::

    from replayer import ReplayConfig

    def replay_config():
        return ReplayConfig(
            headers={"Authorization": f"Bearer {os.environ['CANDIDATE_TOKEN']}"},
            replace={"acct-7781": "acct-0001"},
        )

``replay_config`` is a `ReplayConfig`, or a function of no arguments
returning one (plain, or a ``@pytest.fixture``), called once per session.
Headers here give way to ``--replay-header`` values of the same name; the
``pytest_replay_prepare_request`` hook runs after `ReplayConfig.rewrite`, on
what it returned.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parity.errors import ParityError
from parity.traffic.exchange import Body, Exchange, Query, Request

__all__ = ["ReplayConfig", "find_replay_config"]

#: The name a conftest.py gives its `ReplayConfig`.
NAME = "replay_config"


@dataclass(frozen=True)
class ReplayConfig:
    """Changes made to every recorded request before it is sent to the candidate.

    - `headers`: set on every request, replacing recorded headers of the same
      name (test credentials in place of sanitised ones);
    - `replace`: literal text substitutions made in the path, the query values
      and text bodies (ids or host names that differ between the recording
      environment and the candidate's), in the order given;
    - `rewrite`: a function ``(request, exchange) -> Request | None`` for
      anything else, called after the substitutions; None keeps the request.
    """

    headers: Mapping[str, str] = field(default_factory=dict)
    replace: Mapping[str, str] = field(default_factory=dict)
    rewrite: Callable[[Request, Exchange], Request | None] | None = None

    def prepare(self, request: Request, exchange: Exchange) -> Request:
        """`request` with the substitutions and `rewrite` applied."""
        if self.replace:
            request = self._substituted(request)
        if self.rewrite is not None:
            rewritten = self.rewrite(request, exchange)
            if rewritten is not None:
                if not isinstance(rewritten, Request):
                    raise ParityError(
                        f"ReplayConfig.rewrite returned {type(rewritten).__name__}; "
                        "return a parity Request (dataclasses.replace(request, ...)) or None"
                    )
                request = rewritten
        return request

    def _substituted(self, request: Request) -> Request:
        path = self._text(request.path)
        query = Query([(name, self._text(value)) for name, value in request.query.fields])
        body = request.body
        text = body.text()
        if text is not None and not body.truncated:
            changed = self._text(text)
            if changed != text:
                body = Body.of(changed.encode("utf-8"))
        return dataclasses.replace(request, path=path, query=query, body=body)

    def _text(self, value: str) -> str:
        for old, new in self.replace.items():
            value = value.replace(old, new)
        return value

    def header_pairs(self) -> list[tuple[str, str]]:
        return [(str(name), str(value)) for name, value in self.headers.items()]


def _built(declared: Callable[..., Any], where: Path) -> Any:
    """Call a `replay_config` function, or a pytest fixture of that name, once."""
    function = getattr(declared, "__wrapped__", declared)  # @pytest.fixture keeps it here
    if inspect.signature(function).parameters:
        raise ParityError(
            f"{NAME} in {where} takes arguments; it is built before any test runs, so it "
            "cannot ask for fixtures: read what it needs from the environment or files"
        )
    return function()


def find_replay_config(plugins: Iterable[object]) -> ReplayConfig | None:
    """The `ReplayConfig` a loaded conftest.py declares as ``replay_config``, or None.

    Raises ParityError when two conftest files declare one, or when it is
    neither a `ReplayConfig` nor a function returning one.
    """
    found: list[tuple[Path, Any]] = []
    for plugin in plugins:
        if isinstance(plugin, types.ModuleType) and hasattr(plugin, NAME):
            where = Path(getattr(plugin, "__file__", "") or plugin.__name__)
            if where.name == "conftest.py":
                found.append((where, getattr(plugin, NAME)))
    if not found:
        return None
    if len(found) > 1:
        names = " and ".join(str(path) for path, _ in sorted(found, key=lambda f: str(f[0])))
        raise ParityError(f"{NAME} is declared in both {names}; keep one")
    where, declared = found[0]
    value = _built(declared, where) if callable(declared) else declared
    if not isinstance(value, ReplayConfig):
        raise ParityError(
            f"{NAME} in {where} gave {type(value).__name__}; make it a "
            "replayer.ReplayConfig, or a function of no arguments returning one"
        )
    return value
