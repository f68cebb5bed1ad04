"""Benchmarks for Parity: run them with ``python -m benchmarks.run``."""
