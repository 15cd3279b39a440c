"""Benchmarks: they measure and report, never assert timings."""
