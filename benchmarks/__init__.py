"""Benchmarks of issue #7; each module runs alone: ``python -m benchmarks.bench_X [--smoke]``."""
