"""``python -m parity.cli``: the `parity` command, where the console script is not on PATH."""

from __future__ import annotations

import sys

from parity.cli import main

__all__: list[str] = []

sys.exit(main())
