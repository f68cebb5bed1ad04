"""The side-by-side gateway, inside mitmproxy: the live phases of a migration.

`shadow` routes each request by its endpoint's phase (`parity.migration.routes`),
answers from the monolith and mirrors to the candidate off the request path, or
serves from the candidate with the monolith as fallback; `judge`, a child
process, compares mirrored pairs and learns noise; `scoreboard` keeps what it
saw per endpoint and writes live.json. Started by ``parity shadow``.
"""

__all__: list[str] = []
