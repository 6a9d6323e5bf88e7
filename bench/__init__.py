"""Benchmarks: `python3 bench/run.py` (see its docstring and the README's Benchmarks section)."""
