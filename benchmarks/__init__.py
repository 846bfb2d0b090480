"""Benchmark scripts: measured side by side in one run, printing figures and ratios."""
