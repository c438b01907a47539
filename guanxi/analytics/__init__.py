"""Guanxi analytics: pure numpy/scipy/Polars customer insight (no Django; see the package README below)."""
