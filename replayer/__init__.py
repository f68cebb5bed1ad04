"""Everything that runs inside pytest: the `pytest --replay` plugin and certification.

Imports `parity`, never `recorder`, and works without mitmproxy installed.
"""

__all__: list[str] = []
