"""Benchmarks: `python -m ketadesk.bench [--quick]` prints JSON, each figure beside a naive
baseline measured in the same run. Performance targets live here, never in timed unit tests."""
