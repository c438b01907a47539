"""Pulling the model inputs (frequency, recency, T, monetary value) out of a summary frame or mapping."""

from __future__ import annotations

from typing import Mapping

import numpy as np
import polars as pl

from guanxi.analytics.errors import SchemaError

SummaryLike = pl.DataFrame | Mapping[str, "np.ndarray | list | pl.Series"]


def columns(data: SummaryLike, *names: str) -> list[np.ndarray]:
    """The named columns as float64 numpy arrays; raises `SchemaError` if one is missing or not finite."""
    out = []
    for name in names:
        try:
            column = data[name]
        except (KeyError, pl.exceptions.ColumnNotFoundError):
            raise SchemaError(f"summary lacks column {name!r}") from None
        values = column.to_numpy() if isinstance(column, pl.Series) else np.asarray(column)
        values = values.astype(float, copy=False)
        if not np.all(np.isfinite(values)):
            raise SchemaError(f"column {name!r} has missing or infinite values")
        out.append(values)
    return out


def purchase_columns(data: SummaryLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frequency x, recency t_x, age T) with the model's constraints checked: x ≥ 0, 0 ≤ t_x ≤ T."""
    x, t_x, T = columns(data, "frequency", "recency", "T")
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > T + 1e-9):
        raise SchemaError("summary must satisfy frequency ≥ 0 and 0 ≤ recency ≤ T")
    if np.any((x == 0) & (t_x != 0)):
        raise SchemaError("customers with frequency 0 must have recency 0")
    return x, t_x, T
