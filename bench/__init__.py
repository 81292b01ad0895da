"""Vigie's benchmarks: ``python -m bench`` (see bench/runner.py and docs/performance.md)."""
