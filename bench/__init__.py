"""Benchmarks: each figure printed beside a baseline measured in the same run.

`python -m bench` (or `make bench`) runs them all, each in its own process; see
docs/performance.md for what they measure and the latest results.
"""
