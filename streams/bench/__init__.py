"""Benchmarks behind `memlane bench NAME`: each prints a table and writes `bench-results/NAME.json`."""
