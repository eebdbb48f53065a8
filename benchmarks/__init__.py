"""Benchmark scripts: they print figures, they assert nothing about time."""
