"""Run with this directory on PYTHONPATH, a Python behaves as if mitmproxy were not
installed: importing it raises the ModuleNotFoundError a missing package raises.

Python imports `sitecustomize` at start-up, before any of the program's code.
"""

import sys
from importlib.abc import MetaPathFinder


class _NotInstalled(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        """Refuse mitmproxy and its own packages; leave every other name to the others."""
        if name == "mitmproxy" or name.startswith(("mitmproxy.", "mitmproxy_")):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


sys.meta_path.insert(0, _NotInstalled())
