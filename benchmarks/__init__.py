"""MinPy benchmark suites (pytest-benchmark); run with ``python -m pytest benchmarks``."""
