"""Benchmarks (`make bench`): speed is measured here, never in tests (see bench/run.py)."""
