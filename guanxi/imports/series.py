"""Two Polars helpers the columnar import path uses everywhere: a choice per row, and a column of one value."""

from __future__ import annotations

import polars as pl


def where(mask: pl.Series, then, otherwise=None) -> pl.Series:
    """`then` in the rows where `mask` is true, `otherwise` in the others (each a Series or one value; None is
    null)."""
    value = lambda x: x if isinstance(x, pl.Series) else pl.lit(x)  # noqa: E731 - a bare string names a column
    return pl.select(pl.when(mask).then(value(then)).otherwise(value(otherwise))).to_series()


def constant(value, n: int, dtype=pl.String) -> pl.Series:
    """A column of `n` times `value`."""
    return pl.Series([value], dtype=dtype).new_from_index(0, n)
