"""Side-by-side benchmarks (``python -m tools.bench.run``)."""
