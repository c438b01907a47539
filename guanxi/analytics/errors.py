"""Exceptions raised by `guanxi.analytics`; callers catch these to fall back (e.g. to RFM-only insight)."""

from __future__ import annotations


class AnalyticsError(Exception):
    """Base class of every error this package raises on purpose."""


class SchemaError(AnalyticsError, ValueError):
    """An input frame lacks a required column, has the wrong type, or holds impossible values."""


class InsufficientDataError(AnalyticsError):
    """Too little data to fit a model reliably; the message says what was found and what is needed.

    `found` and `required` hold the counts (e.g. repeat customers) so a caller can show them.
    """

    def __init__(self, message: str, *, found: int, required: int) -> None:
        super().__init__(message)
        self.found = found
        self.required = required


class FileFormatError(AnalyticsError, ValueError):
    """A transaction file could not be read in the format asked for; the message names the line."""


class ConvergenceError(AnalyticsError):
    """A maximum-likelihood fit did not reach a proper maximum (e.g. customers so alike that the heterogeneity
    parameters run off to infinity). ``report`` holds the `FitReport` of the attempt."""

    def __init__(self, message: str, *, report) -> None:
        super().__init__(message)
        self.report = report


class HomogeneousDropoutError(ConvergenceError):
    """The Pareto/NBD fit was abandoned because every customer seems to drop out at the same rate: its dropout
    shape ``s`` kept growing (with ``beta`` in step), a ridge with no maximum. Any Pareto/NBD variant fitted to
    the same customers would run up the same ridge, so callers skip them and use another purchase model."""
