"""What runs inside mitmproxy and both the recorder and the side-by-side gateway need:
a flow's conversion into an exchange (`convert`), the options that name endpoints and
the keys flows carry between addons (`naming`). mitmproxy is imported for types only:
the writer and judge processes convert snapshots without it.
"""

__all__: list[str] = []
