"""Runs: the catalog of reports, builds and deliveries as runs (one at a time under the lock,
recorded in the run history), and the worker processes or Dask cluster that render.

May import: delivery, publish, render, layout, source, core.
"""
