"""Benchmarks: the national-scale dataset generator and `make bench` (python -m bench.run)."""
