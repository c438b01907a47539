"""Exceptions raised by `guanxi.analytics`; callers catch these to fall back (e.g. to RFM-only insight)."""

from __future__ import annotations


class AnalyticsError(Exception):
    """Base class of every error this package raises on purpose.

    `code` names the kind of failure so that a caller can put it in its readers' words (the message itself is
    English, for logs and the CLI); `details()` is that code with the figures the message quotes.
    """

    code = "analytics_error"

    def details(self) -> dict:
        """JSON-ready ``{"code": …}`` plus the figures of the failure, if any."""
        return {"code": self.code}


class SchemaError(AnalyticsError, ValueError):
    """An input frame lacks a required column, has the wrong type, or holds impossible values."""

    code = "schema"


class InsufficientDataError(AnalyticsError):
    """Too little data to fit a model reliably; the message says what was found and what is needed.

    `found` and `required` hold the counts (e.g. repeat customers) so a caller can show them.
    """

    code = "insufficient_data"

    def __init__(self, message: str, *, found: int, required: int) -> None:
        super().__init__(message)
        self.found = found
        self.required = required

    def details(self) -> dict:
        return {"code": self.code, "found": self.found, "required": self.required}


class FileFormatError(AnalyticsError, ValueError):
    """A transaction file could not be read in the format asked for; the message names the line."""

    code = "file_format"


class ConvergenceError(AnalyticsError):
    """A maximum-likelihood fit did not reach a proper maximum (e.g. customers so alike that the heterogeneity
    parameters run off to infinity). ``report`` holds the `FitReport` of the attempt."""

    code = "no_convergence"

    def __init__(self, message: str, *, report) -> None:
        super().__init__(message)
        self.report = report


class HomogeneousDropoutError(ConvergenceError):
    """The Pareto/NBD fit was abandoned because every customer seems to drop out at the same rate: its dropout
    shape ``s`` kept growing (with ``beta`` in step), a ridge with no maximum. Any Pareto/NBD variant fitted to
    the same customers would run up the same ridge, so callers skip them and use another purchase model."""

    code = "homogeneous_dropout"
